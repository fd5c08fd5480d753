from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.batch_item_result_status import BatchItemResultStatus

if TYPE_CHECKING:
    from ..models.job import Job
    from ..models.problem import Problem


T = TypeVar("T", bound="BatchItemResult")


@_attrs_define
class BatchItemResult:
    """
    Attributes:
        status (BatchItemResultStatus): What a single submission of the item would have been answered.
        job (Job | None): The accepted job (`status` 202).
        replayed (bool): An earlier request with the item's `idempotency_key` created this job.
        error (None | Problem): Why the item was refused (`status` 400 or 422).
    """

    status: BatchItemResultStatus
    job: Job | None
    replayed: bool
    error: None | Problem
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job import Job
        from ..models.problem import Problem

        status = self.status.value

        job: dict[str, Any] | None
        if isinstance(self.job, Job):
            job = self.job.to_dict()
        else:
            job = self.job

        replayed = self.replayed

        error: dict[str, Any] | None
        if isinstance(self.error, Problem):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "job": job,
                "replayed": replayed,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job import Job
        from ..models.problem import Problem

        d = dict(src_dict)
        status = BatchItemResultStatus(d.pop("status"))

        def _parse_job(data: object) -> Job | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                job_type_0 = Job.from_dict(data)

                return job_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Job | None, data)

        job = _parse_job(d.pop("job"))

        replayed = d.pop("replayed")

        def _parse_error(data: object) -> None | Problem:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = Problem.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Problem, data)

        error = _parse_error(d.pop("error"))

        batch_item_result = cls(
            status=status,
            job=job,
            replayed=replayed,
            error=error,
        )

        batch_item_result.additional_properties = d
        return batch_item_result

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
