from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TestCallbackResult")


@_attrs_define
class TestCallbackResult:
    """
    Attributes:
        url (str):
        event_id (str): An event id, `evt_` and a ULID. Example: evt_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        delivered (bool): The receiver answered 2xx.
        status_code (int | None):
        duration_ms (int):
        response_body (None | str):
        error (None | str): What went wrong, as in a delivery attempt's record; null when delivered.
        error_class (None | str): As in a delivery attempt: `http_status` for an answer that is not 2xx, `timeout`,
            `connect`, `dns`, `tls`, `blocked_address`, `body` or `other`; null when delivered.
    """

    url: str
    event_id: str
    delivered: bool
    status_code: int | None
    duration_ms: int
    response_body: None | str
    error: None | str
    error_class: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        event_id = self.event_id

        delivered = self.delivered

        status_code: int | None
        status_code = self.status_code

        duration_ms = self.duration_ms

        response_body: None | str
        response_body = self.response_body

        error: None | str
        error = self.error

        error_class: None | str
        error_class = self.error_class

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "url": url,
                "event_id": event_id,
                "delivered": delivered,
                "status_code": status_code,
                "duration_ms": duration_ms,
                "response_body": response_body,
                "error": error,
                "error_class": error_class,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        url = d.pop("url")

        event_id = d.pop("event_id")

        delivered = d.pop("delivered")

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))

        duration_ms = d.pop("duration_ms")

        def _parse_response_body(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        response_body = _parse_response_body(d.pop("response_body"))

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

        test_callback_result = cls(
            url=url,
            event_id=event_id,
            delivered=delivered,
            status_code=status_code,
            duration_ms=duration_ms,
            response_body=response_body,
            error=error,
            error_class=error_class,
        )

        test_callback_result.additional_properties = d
        return test_callback_result

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
