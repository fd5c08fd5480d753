from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.test_callback_request import TestCallbackRequest
from ...models.test_callback_result import TestCallbackResult
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: TestCallbackRequest,
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
        "url": "/v1/callbacks/test",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | TestCallbackResult | None:
    if response.status_code == 200:
        response_200 = TestCallbackResult.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | TestCallbackResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: TestCallbackRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | TestCallbackResult]:
    """Send a signed test event to a URL now

     Sends a `callback.test` event, signed with the client's secrets, to
    `url` (which must pass the outbound URL guard) and reports what the
    receiver answered. Counts against the client's rate, as submissions
    do (`429` beyond).

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (TestCallbackRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestCallbackResult]
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
    body: TestCallbackRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | TestCallbackResult | None:
    """Send a signed test event to a URL now

     Sends a `callback.test` event, signed with the client's secrets, to
    `url` (which must pass the outbound URL guard) and reports what the
    receiver answered. Counts against the client's rate, as submissions
    do (`429` beyond).

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (TestCallbackRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestCallbackResult
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
    body: TestCallbackRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | TestCallbackResult]:
    """Send a signed test event to a URL now

     Sends a `callback.test` event, signed with the client's secrets, to
    `url` (which must pass the outbound URL guard) and reports what the
    receiver answered. Counts against the client's rate, as submissions
    do (`429` beyond).

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (TestCallbackRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestCallbackResult]
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
    body: TestCallbackRequest,
    x_request_id: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | TestCallbackResult | None:
    """Send a signed test event to a URL now

     Sends a `callback.test` event, signed with the client's secrets, to
    `url` (which must pass the outbound URL guard) and reports what the
    receiver answered. Counts against the client's rate, as submissions
    do (`429` beyond).

    Args:
        x_request_id (str | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (TestCallbackRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestCallbackResult
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
