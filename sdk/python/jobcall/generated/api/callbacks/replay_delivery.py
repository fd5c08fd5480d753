from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.replay_queued import ReplayQueued
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    x_request_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/jobs/{id}/deliveries".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ReplayQueued | None:
    if response.status_code == 202:
        response_202 = ReplayQueued.from_dict(response.json())

        return response_202

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | ReplayQueued]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> Response[Problem | ReplayQueued]:
    """Re-send the job's newest event now

     Queues a manual attempt of the job's newest event, with its original
    `webhook-id`. It does not change the retry schedule of an event still
    being retried. Refused (`409`) when the job has no event, or when the
    newest event waits behind an earlier one. Counts against the
    client's rate, as submissions do (`429` beyond).

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplayQueued]
    """

    kwargs = _get_kwargs(
        id=id,
        x_request_id=x_request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> Problem | ReplayQueued | None:
    """Re-send the job's newest event now

     Queues a manual attempt of the job's newest event, with its original
    `webhook-id`. It does not change the retry schedule of an event still
    being retried. Refused (`409`) when the job has no event, or when the
    newest event waits behind an earlier one. Counts against the
    client's rate, as submissions do (`429` beyond).

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplayQueued
    """

    return sync_detailed(
        id=id,
        client=client,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> Response[Problem | ReplayQueued]:
    """Re-send the job's newest event now

     Queues a manual attempt of the job's newest event, with its original
    `webhook-id`. It does not change the retry schedule of an event still
    being retried. Refused (`409`) when the job has no event, or when the
    newest event waits behind an earlier one. Counts against the
    client's rate, as submissions do (`429` beyond).

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReplayQueued]
    """

    kwargs = _get_kwargs(
        id=id,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> Problem | ReplayQueued | None:
    """Re-send the job's newest event now

     Queues a manual attempt of the job's newest event, with its original
    `webhook-id`. It does not change the retry schedule of an event still
    being retried. Refused (`409`) when the job has no event, or when the
    newest event waits behind an earlier one. Counts against the
    client's rate, as submissions do (`429` beyond).

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReplayQueued
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            x_request_id=x_request_id,
        )
    ).parsed
