from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job import Job
from ...models.problem import Problem
from ...models.submit_job_request import SubmitJobRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: SubmitJobRequest,
    idempotency_key: str | Unset = UNSET,
    prefer: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(prefer, Unset):
        headers["Prefer"] = prefer

    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/jobs",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Job | Problem | None:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = Job.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Job | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobRequest,
    idempotency_key: str | Unset = UNSET,
    prefer: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Job | Problem]:
    """Submit a job

     Validates the job, commits it and answers `202` with the job. The job
    runs in the background; its result is sent to `callback_url` (if
    given) and is available from `GET /v1/jobs/{id}`.

    With an `Idempotency-Key`, repeating the same request returns the same
    job (with `Idempotent-Replayed: true`) instead of creating another;
    reusing the key for a different request is refused with `422`. Keys
    are scoped to the client.

    With `Prefer: wait=N` (RFC 7240), the server waits up to N seconds
    for the job to finish: if it does, the answer is `200` with the
    finished job; otherwise `202` as without it. Either way
    `Preference-Applied: wait=N` says the server waited. A wait counts
    among the client's long-polls (see `GET /v1/jobs/{id}`): a client
    holding its share gets the `202` at once, without
    `Preference-Applied`.

    Args:
        idempotency_key (str | Unset):
        prefer (str | Unset):
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        prefer=prefer,
        x_request_id=x_request_id,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobRequest,
    idempotency_key: str | Unset = UNSET,
    prefer: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Job | Problem | None:
    """Submit a job

     Validates the job, commits it and answers `202` with the job. The job
    runs in the background; its result is sent to `callback_url` (if
    given) and is available from `GET /v1/jobs/{id}`.

    With an `Idempotency-Key`, repeating the same request returns the same
    job (with `Idempotent-Replayed: true`) instead of creating another;
    reusing the key for a different request is refused with `422`. Keys
    are scoped to the client.

    With `Prefer: wait=N` (RFC 7240), the server waits up to N seconds
    for the job to finish: if it does, the answer is `200` with the
    finished job; otherwise `202` as without it. Either way
    `Preference-Applied: wait=N` says the server waited. A wait counts
    among the client's long-polls (see `GET /v1/jobs/{id}`): a client
    holding its share gets the `202` at once, without
    `Preference-Applied`.

    Args:
        idempotency_key (str | Unset):
        prefer (str | Unset):
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        prefer=prefer,
        x_request_id=x_request_id,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobRequest,
    idempotency_key: str | Unset = UNSET,
    prefer: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Job | Problem]:
    """Submit a job

     Validates the job, commits it and answers `202` with the job. The job
    runs in the background; its result is sent to `callback_url` (if
    given) and is available from `GET /v1/jobs/{id}`.

    With an `Idempotency-Key`, repeating the same request returns the same
    job (with `Idempotent-Replayed: true`) instead of creating another;
    reusing the key for a different request is refused with `422`. Keys
    are scoped to the client.

    With `Prefer: wait=N` (RFC 7240), the server waits up to N seconds
    for the job to finish: if it does, the answer is `200` with the
    finished job; otherwise `202` as without it. Either way
    `Preference-Applied: wait=N` says the server waited. A wait counts
    among the client's long-polls (see `GET /v1/jobs/{id}`): a client
    holding its share gets the `202` at once, without
    `Preference-Applied`.

    Args:
        idempotency_key (str | Unset):
        prefer (str | Unset):
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        prefer=prefer,
        x_request_id=x_request_id,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobRequest,
    idempotency_key: str | Unset = UNSET,
    prefer: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Job | Problem | None:
    """Submit a job

     Validates the job, commits it and answers `202` with the job. The job
    runs in the background; its result is sent to `callback_url` (if
    given) and is available from `GET /v1/jobs/{id}`.

    With an `Idempotency-Key`, repeating the same request returns the same
    job (with `Idempotent-Replayed: true`) instead of creating another;
    reusing the key for a different request is refused with `422`. Keys
    are scoped to the client.

    With `Prefer: wait=N` (RFC 7240), the server waits up to N seconds
    for the job to finish: if it does, the answer is `200` with the
    finished job; otherwise `202` as without it. Either way
    `Preference-Applied: wait=N` says the server waited. A wait counts
    among the client's long-polls (see `GET /v1/jobs/{id}`): a client
    holding its share gets the `202` at once, without
    `Preference-Applied`.

    Args:
        idempotency_key (str | Unset):
        prefer (str | Unset):
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            prefer=prefer,
            x_request_id=x_request_id,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
