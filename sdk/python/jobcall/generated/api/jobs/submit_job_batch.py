from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.batch_result import BatchResult
from ...models.problem import Problem
from ...models.submit_job_batch_request import SubmitJobBatchRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: SubmitJobBatchRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/jobs/batch",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BatchResult | Problem | None:
    if response.status_code == 200:
        response_200 = BatchResult.from_dict(response.json())

        return response_200

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
) -> Response[BatchResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobBatchRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[BatchResult | Problem]:
    """Submit many jobs at once

     Up to 100 jobs in one request (the server's `max_batch_jobs`, and no
    more than the client's rate allows at once), each checked as
    `POST /v1/jobs` would check it, its problems named under the item
    (`jobs[3].input.delay_ms`).

    An item that breaks the item schema below (a field of the wrong type,
    an unknown field, a number out of range, an event that does not
    exist) is a client bug: the whole batch is refused with `400` naming
    every such field, and nothing is written. An item that is
    well-formed but cannot be accepted (an unknown `kind`, an `input`
    its kind's schema refuses, a `callback_url` the server's outbound
    guard refuses, an `idempotency_key` reused for another job) is
    refused alone, and the others go ahead.

    The items that go ahead are committed together, in one transaction,
    and the answer is `200` with one result per item, in request order:
    the accepted job (`status` 202), or the problem a single submission
    would have got (`status` 400, or 422 for a reused key). Partial
    failure is the normal case to handle: a `200` whose items were all
    refused committed nothing.

    Idempotency is per item (`idempotency_key`, the same keys as the
    `Idempotency-Key` of single submissions); the batch has no key of its
    own, and an `Idempotency-Key` header is refused. Every item counts
    against the client's submission rate.

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobBatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchResult | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
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
    body: SubmitJobBatchRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> BatchResult | Problem | None:
    """Submit many jobs at once

     Up to 100 jobs in one request (the server's `max_batch_jobs`, and no
    more than the client's rate allows at once), each checked as
    `POST /v1/jobs` would check it, its problems named under the item
    (`jobs[3].input.delay_ms`).

    An item that breaks the item schema below (a field of the wrong type,
    an unknown field, a number out of range, an event that does not
    exist) is a client bug: the whole batch is refused with `400` naming
    every such field, and nothing is written. An item that is
    well-formed but cannot be accepted (an unknown `kind`, an `input`
    its kind's schema refuses, a `callback_url` the server's outbound
    guard refuses, an `idempotency_key` reused for another job) is
    refused alone, and the others go ahead.

    The items that go ahead are committed together, in one transaction,
    and the answer is `200` with one result per item, in request order:
    the accepted job (`status` 202), or the problem a single submission
    would have got (`status` 400, or 422 for a reused key). Partial
    failure is the normal case to handle: a `200` whose items were all
    refused committed nothing.

    Idempotency is per item (`idempotency_key`, the same keys as the
    `Idempotency-Key` of single submissions); the batch has no key of its
    own, and an `Idempotency-Key` header is refused. Every item counts
    against the client's submission rate.

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobBatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchResult | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        x_request_id=x_request_id,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobBatchRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[BatchResult | Problem]:
    """Submit many jobs at once

     Up to 100 jobs in one request (the server's `max_batch_jobs`, and no
    more than the client's rate allows at once), each checked as
    `POST /v1/jobs` would check it, its problems named under the item
    (`jobs[3].input.delay_ms`).

    An item that breaks the item schema below (a field of the wrong type,
    an unknown field, a number out of range, an event that does not
    exist) is a client bug: the whole batch is refused with `400` naming
    every such field, and nothing is written. An item that is
    well-formed but cannot be accepted (an unknown `kind`, an `input`
    its kind's schema refuses, a `callback_url` the server's outbound
    guard refuses, an `idempotency_key` reused for another job) is
    refused alone, and the others go ahead.

    The items that go ahead are committed together, in one transaction,
    and the answer is `200` with one result per item, in request order:
    the accepted job (`status` 202), or the problem a single submission
    would have got (`status` 400, or 422 for a reused key). Partial
    failure is the normal case to handle: a `200` whose items were all
    refused committed nothing.

    Idempotency is per item (`idempotency_key`, the same keys as the
    `Idempotency-Key` of single submissions); the batch has no key of its
    own, and an `Idempotency-Key` header is refused. Every item counts
    against the client's submission rate.

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobBatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchResult | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        x_request_id=x_request_id,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: SubmitJobBatchRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> BatchResult | Problem | None:
    """Submit many jobs at once

     Up to 100 jobs in one request (the server's `max_batch_jobs`, and no
    more than the client's rate allows at once), each checked as
    `POST /v1/jobs` would check it, its problems named under the item
    (`jobs[3].input.delay_ms`).

    An item that breaks the item schema below (a field of the wrong type,
    an unknown field, a number out of range, an event that does not
    exist) is a client bug: the whole batch is refused with `400` naming
    every such field, and nothing is written. An item that is
    well-formed but cannot be accepted (an unknown `kind`, an `input`
    its kind's schema refuses, a `callback_url` the server's outbound
    guard refuses, an `idempotency_key` reused for another job) is
    refused alone, and the others go ahead.

    The items that go ahead are committed together, in one transaction,
    and the answer is `200` with one result per item, in request order:
    the accepted job (`status` 202), or the problem a single submission
    would have got (`status` 400, or 422 for a reused key). Partial
    failure is the normal case to handle: a `200` whose items were all
    refused committed nothing.

    Idempotency is per item (`idempotency_key`, the same keys as the
    `Idempotency-Key` of single submissions); the batch has no key of its
    own, and an `Idempotency-Key` header is refused. Every item counts
    against the client's submission rate.

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SubmitJobBatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchResult | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_request_id=x_request_id,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
