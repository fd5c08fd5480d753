from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType
from ..models.job_status import JobStatus

if TYPE_CHECKING:
    from ..models.callback_summary import CallbackSummary
    from ..models.job_error import JobError
    from ..models.job_input import JobInput
    from ..models.job_metadata import JobMetadata


T = TypeVar("T", bound="Job")


@_attrs_define
class Job:
    """
    Attributes:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        kind (str):
        status (JobStatus): `queued` → `running` → `succeeded` | `failed` | `canceled`; a job
            waiting for a retry is `queued` again.
        input_ (JobInput): A job's input, as its kind's `input_schema` describes it.
        result (Any): What the kind returned, once the job succeeded.
        error (JobError | None):
        progress (int | None):
        attempts (int): Attempts started so far.
        max_attempts (int):
        timeout_seconds (int):
        callback_url (None | str):
        callback_events (list[EventType]):
        callback (CallbackSummary):
        metadata (JobMetadata): Up to 50 string values (keys of 1 to 40 characters, values of at most 500), kept with
            the job.
        cancel_requested (bool): A cancel was requested and the running attempt has not stopped yet.
        created_at (datetime.datetime):
        started_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        next_attempt_at (datetime.datetime | None): When the next execution attempt is due, while a retry is scheduled.
    """

    id: str
    kind: str
    status: JobStatus
    input_: JobInput
    result: Any
    error: JobError | None
    progress: int | None
    attempts: int
    max_attempts: int
    timeout_seconds: int
    callback_url: None | str
    callback_events: list[EventType]
    callback: CallbackSummary
    metadata: JobMetadata
    cancel_requested: bool
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    next_attempt_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error import JobError

        id = self.id

        kind = self.kind

        status = self.status.value

        input_ = self.input_.to_dict()

        result = self.result

        error: dict[str, Any] | None
        if isinstance(self.error, JobError):
            error = self.error.to_dict()
        else:
            error = self.error

        progress: int | None
        progress = self.progress

        attempts = self.attempts

        max_attempts = self.max_attempts

        timeout_seconds = self.timeout_seconds

        callback_url: None | str
        callback_url = self.callback_url

        callback_events = []
        for callback_events_item_data in self.callback_events:
            callback_events_item = callback_events_item_data.value
            callback_events.append(callback_events_item)

        callback = self.callback.to_dict()

        metadata = self.metadata.to_dict()

        cancel_requested = self.cancel_requested

        created_at = self.created_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "status": status,
                "input": input_,
                "result": result,
                "error": error,
                "progress": progress,
                "attempts": attempts,
                "max_attempts": max_attempts,
                "timeout_seconds": timeout_seconds,
                "callback_url": callback_url,
                "callback_events": callback_events,
                "callback": callback,
                "metadata": metadata,
                "cancel_requested": cancel_requested,
                "created_at": created_at,
                "started_at": started_at,
                "finished_at": finished_at,
                "next_attempt_at": next_attempt_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.callback_summary import CallbackSummary
        from ..models.job_error import JobError
        from ..models.job_input import JobInput
        from ..models.job_metadata import JobMetadata

        d = dict(src_dict)
        id = d.pop("id")

        kind = d.pop("kind")

        status = JobStatus(d.pop("status"))

        input_ = JobInput.from_dict(d.pop("input"))

        result = d.pop("result")

        def _parse_error(data: object) -> JobError | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobError | None, data)

        error = _parse_error(d.pop("error"))

        def _parse_progress(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        progress = _parse_progress(d.pop("progress"))

        attempts = d.pop("attempts")

        max_attempts = d.pop("max_attempts")

        timeout_seconds = d.pop("timeout_seconds")

        def _parse_callback_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        callback_url = _parse_callback_url(d.pop("callback_url"))

        callback_events = []
        _callback_events = d.pop("callback_events")
        for callback_events_item_data in _callback_events:
            callback_events_item = EventType(callback_events_item_data)

            callback_events.append(callback_events_item)

        callback = CallbackSummary.from_dict(d.pop("callback"))

        metadata = JobMetadata.from_dict(d.pop("metadata"))

        cancel_requested = d.pop("cancel_requested")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))

        job = cls(
            id=id,
            kind=kind,
            status=status,
            input_=input_,
            result=result,
            error=error,
            progress=progress,
            attempts=attempts,
            max_attempts=max_attempts,
            timeout_seconds=timeout_seconds,
            callback_url=callback_url,
            callback_events=callback_events,
            callback=callback,
            metadata=metadata,
            cancel_requested=cancel_requested,
            created_at=created_at,
            started_at=started_at,
            finished_at=finished_at,
            next_attempt_at=next_attempt_at,
        )

        job.additional_properties = d
        return job

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
