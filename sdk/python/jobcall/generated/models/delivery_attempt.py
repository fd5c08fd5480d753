from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_trigger import DeliveryTrigger
from ..models.event_type import EventType

T = TypeVar("T", bound="DeliveryAttempt")


@_attrs_define
class DeliveryAttempt:
    """
    Attributes:
        event_id (str): An event id, `evt_` and a ULID. Example: evt_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        event_type (EventType):
        attempt (int):
        trigger (DeliveryTrigger):
        url (str):
        status_code (int | None): The receiver's status; null when no response arrived.
        error (None | str):
        error_class (None | str): `http_status`, `timeout`, `connect`, `dns`, `tls`, `blocked_address`, `body` or
            `other`.
        duration_ms (int):
        response_body (None | str): The first bytes of the response body.
        created_at (datetime.datetime):
    """

    event_id: str
    event_type: EventType
    attempt: int
    trigger: DeliveryTrigger
    url: str
    status_code: int | None
    error: None | str
    error_class: None | str
    duration_ms: int
    response_body: None | str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        event_type = self.event_type.value

        attempt = self.attempt

        trigger = self.trigger.value

        url = self.url

        status_code: int | None
        status_code = self.status_code

        error: None | str
        error = self.error

        error_class: None | str
        error_class = self.error_class

        duration_ms = self.duration_ms

        response_body: None | str
        response_body = self.response_body

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_id": event_id,
                "event_type": event_type,
                "attempt": attempt,
                "trigger": trigger,
                "url": url,
                "status_code": status_code,
                "error": error,
                "error_class": error_class,
                "duration_ms": duration_ms,
                "response_body": response_body,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        event_id = d.pop("event_id")

        event_type = EventType(d.pop("event_type"))

        attempt = d.pop("attempt")

        trigger = DeliveryTrigger(d.pop("trigger"))

        url = d.pop("url")

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_error_class(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error_class = _parse_error_class(d.pop("error_class"))

        duration_ms = d.pop("duration_ms")

        def _parse_response_body(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        response_body = _parse_response_body(d.pop("response_body"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        delivery_attempt = cls(
            event_id=event_id,
            event_type=event_type,
            attempt=attempt,
            trigger=trigger,
            url=url,
            status_code=status_code,
            error=error,
            error_class=error_class,
            duration_ms=duration_ms,
            response_body=response_body,
            created_at=created_at,
        )

        delivery_attempt.additional_properties = d
        return delivery_attempt

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
