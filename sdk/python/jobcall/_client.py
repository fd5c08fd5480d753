"""The hand-written layer over the generated client: submitting (and
waiting for fast jobs), waiting for a job, batches, signing keys; every
error answer raised as a typed `ProblemError`."""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional, Sequence, TypeVar, Union

import httpx

from .errors import problem_error
from .generated import AuthenticatedClient
from .generated.api.clients import list_signing_keys
from .generated.api.jobs import get_job, submit_job, submit_job_batch
from .generated.models import (
    BatchItemResult,
    BatchResult,
    BatchJobRequest,
    Job,
    JobStatus,
    SigningKeyList,
    SubmitJobBatchRequest,
    SubmitJobRequest,
)
from .generated.types import UNSET, Response

T = TypeVar("T")

TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)
# The longest long-poll is 60 s: requests may take that long.
REQUEST_TIMEOUT = httpx.Timeout(75.0, connect=10.0)


def _ok(response: Response[Any], wanted: type[T]) -> T:
    if isinstance(response.parsed, wanted):
        return response.parsed
    raise problem_error(int(response.status_code), response.content, httpx.Headers(response.headers))


class Jobcall:
    """A client of a jobcall server. `api` is the generated client, for
    every operation of the spec (`jobcall.generated.api.*`)."""

    def __init__(self, base_url: str, token: str, *, timeout: httpx.Timeout = REQUEST_TIMEOUT):
        self.api = AuthenticatedClient(base_url=base_url, token=token, timeout=timeout)

    def submit(
        self,
        job: Union[SubmitJobRequest, Mapping[str, Any]],
        *,
        wait: Optional[int] = None,
        idempotency_key: Optional[str] = None,
        traceparent: Optional[str] = None,
    ) -> Job:
        """Submits a job. With `wait` (seconds, at most 60) the answer waits
        for the job to finish, and is the finished job if it did in time."""
        body = job if isinstance(job, SubmitJobRequest) else SubmitJobRequest.from_dict(dict(job))
        response = submit_job.sync_detailed(
            client=self.api,
            body=body,
            prefer=UNSET if wait is None else f"wait={wait}",
            idempotency_key=UNSET if idempotency_key is None else idempotency_key,
            traceparent=UNSET if traceparent is None else traceparent,
        )
        return _ok(response, Job)

    def submit_batch(
        self, jobs: Sequence[Union[BatchJobRequest, Mapping[str, Any]]]
    ) -> list[BatchItemResult]:
        """Submits up to 100 jobs at once: one result per job, in order
        (`status` 202 and the `job`, or 400/422 and the `error`)."""
        items = [j if isinstance(j, BatchJobRequest) else BatchJobRequest.from_dict(dict(j)) for j in jobs]
        response = submit_job_batch.sync_detailed(client=self.api, body=SubmitJobBatchRequest(jobs=items))
        return list(_ok(response, BatchResult).data)

    def get_job(self, job_id: str, *, wait: Optional[int] = None) -> Job:
        """The job; with `wait` (seconds, at most 60), once it finishes or
        the wait is over."""
        response = get_job.sync_detailed(job_id, client=self.api, wait=UNSET if wait is None else wait)
        return _ok(response, Job)

    def wait_for(self, job_id: str, *, timeout: float = 300.0) -> Job:
        """Waits until the job is terminal, long-polling (no busy polling),
        for at most `timeout` seconds; raises `TimeoutError` then."""
        deadline = time.monotonic() + timeout
        while True:
            left = int(deadline - time.monotonic())
            job = self.get_job(job_id, wait=max(0, min(60, left)))
            if job.status in TERMINAL:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} did not finish within {timeout} s (it is {job.status})")
            if left <= 0:
                time.sleep(0.2)

    def signing_keys(self, client_id: str) -> SigningKeyList:
        """The public keys that verify the client's `v1a` signatures."""
        return _ok(list_signing_keys.sync_detailed(client_id, client=self.api), SigningKeyList)
