from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.event_type import EventType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_input import JobInput
    from ..models.job_metadata import JobMetadata


T = TypeVar("T", bound="SubmitJobRequest")


@_attrs_define
class SubmitJobRequest:
    """
    Attributes:
        kind (str): The kind of work (see `GET /v1/kinds`). Example: echo.
        input_ (JobInput | None | Unset): The kind's input; must match the kind's `input_schema`. Default `{}`.
        callback_url (None | str | Unset): Where to POST the job's events (https, or http where the server allows it; a
            public address).
        callback_events (list[EventType] | None | Unset): The events to send, at most 5 (one per event); default the
            terminal ones. Needs `callback_url`.
        metadata (JobMetadata | None | Unset): Strings kept with the job and echoed back.
        timeout_seconds (int | None | Unset): How long one attempt may run (default 300).
        max_attempts (int | None | Unset): Attempts in total for retryable failures (default 3).
    """

    kind: str
    input_: JobInput | None | Unset = UNSET
    callback_url: None | str | Unset = UNSET
    callback_events: list[EventType] | None | Unset = UNSET
    metadata: JobMetadata | None | Unset = UNSET
    timeout_seconds: int | None | Unset = UNSET
    max_attempts: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_input import JobInput
        from ..models.job_metadata import JobMetadata

        kind = self.kind

        input_: dict[str, Any] | None | Unset
        if isinstance(self.input_, Unset):
            input_ = UNSET
        elif isinstance(self.input_, JobInput):
            input_ = self.input_.to_dict()
        else:
            input_ = self.input_

        callback_url: None | str | Unset
        if isinstance(self.callback_url, Unset):
            callback_url = UNSET
        else:
            callback_url = self.callback_url

        callback_events: list[str] | None | Unset
        if isinstance(self.callback_events, Unset):
            callback_events = UNSET
        elif isinstance(self.callback_events, list):
            callback_events = []
            for callback_events_type_0_item_data in self.callback_events:
                callback_events_type_0_item = callback_events_type_0_item_data.value
                callback_events.append(callback_events_type_0_item)

        else:
            callback_events = self.callback_events

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, JobMetadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        timeout_seconds: int | None | Unset
        if isinstance(self.timeout_seconds, Unset):
            timeout_seconds = UNSET
        else:
            timeout_seconds = self.timeout_seconds

        max_attempts: int | None | Unset
        if isinstance(self.max_attempts, Unset):
            max_attempts = UNSET
        else:
            max_attempts = self.max_attempts

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
            }
        )
        if input_ is not UNSET:
            field_dict["input"] = input_
        if callback_url is not UNSET:
            field_dict["callback_url"] = callback_url
        if callback_events is not UNSET:
            field_dict["callback_events"] = callback_events
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if timeout_seconds is not UNSET:
            field_dict["timeout_seconds"] = timeout_seconds
        if max_attempts is not UNSET:
            field_dict["max_attempts"] = max_attempts

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_input import JobInput
        from ..models.job_metadata import JobMetadata

        d = dict(src_dict)
        kind = d.pop("kind")

        def _parse_input_(data: object) -> JobInput | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                input_type_0 = JobInput.from_dict(data)

                return input_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobInput | None | Unset, data)

        input_ = _parse_input_(d.pop("input", UNSET))

        def _parse_callback_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        callback_url = _parse_callback_url(d.pop("callback_url", UNSET))

        def _parse_callback_events(data: object) -> list[EventType] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                callback_events_type_0 = []
                _callback_events_type_0 = data
                for callback_events_type_0_item_data in _callback_events_type_0:
                    callback_events_type_0_item = EventType(
                        callback_events_type_0_item_data
                    )

                    callback_events_type_0.append(callback_events_type_0_item)

                return callback_events_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[EventType] | None | Unset, data)

        callback_events = _parse_callback_events(d.pop("callback_events", UNSET))

        def _parse_metadata(data: object) -> JobMetadata | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = JobMetadata.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobMetadata | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_timeout_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        timeout_seconds = _parse_timeout_seconds(d.pop("timeout_seconds", UNSET))

        def _parse_max_attempts(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_attempts = _parse_max_attempts(d.pop("max_attempts", UNSET))

        submit_job_request = cls(
            kind=kind,
            input_=input_,
            callback_url=callback_url,
            callback_events=callback_events,
            metadata=metadata,
            timeout_seconds=timeout_seconds,
            max_attempts=max_attempts,
        )

        return submit_job_request
