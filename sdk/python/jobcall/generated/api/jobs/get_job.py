from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job import Job
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    wait: int | Unset = 0,
    x_request_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    params: dict[str, Any] = {}

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs/{id}".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Job | Problem | None:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
    id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: int | Unset = 0,
    x_request_id: str | Unset = UNSET,
) -> Response[Job | Problem]:
    """Read a job, optionally waiting for it to finish

     With `wait=N`, the response comes as soon as the job is terminal, or
    after N seconds with its current state, whichever is first. While the
    job is not terminal, `Retry-After` suggests when to ask again.

    A client may hold a limited number of long-polls open at once (the
    server's `max_waits_per_client`, 100 by default). Beyond it, `wait`
    is ignored: the job is returned at once, as without it, with
    `Retry-After` while it is not terminal. That is not an error; the
    client polls as it would after a long-poll that timed out.

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        wait (int | Unset):  Default: 0.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        wait=wait,
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
    wait: int | Unset = 0,
    x_request_id: str | Unset = UNSET,
) -> Job | Problem | None:
    """Read a job, optionally waiting for it to finish

     With `wait=N`, the response comes as soon as the job is terminal, or
    after N seconds with its current state, whichever is first. While the
    job is not terminal, `Retry-After` suggests when to ask again.

    A client may hold a limited number of long-polls open at once (the
    server's `max_waits_per_client`, 100 by default). Beyond it, `wait`
    is ignored: the job is returned at once, as without it, with
    `Retry-After` while it is not terminal. That is not an error; the
    client polls as it would after a long-poll that timed out.

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        wait (int | Unset):  Default: 0.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
        wait=wait,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: int | Unset = 0,
    x_request_id: str | Unset = UNSET,
) -> Response[Job | Problem]:
    """Read a job, optionally waiting for it to finish

     With `wait=N`, the response comes as soon as the job is terminal, or
    after N seconds with its current state, whichever is first. While the
    job is not terminal, `Retry-After` suggests when to ask again.

    A client may hold a limited number of long-polls open at once (the
    server's `max_waits_per_client`, 100 by default). Beyond it, `wait`
    is ignored: the job is returned at once, as without it, with
    `Retry-After` while it is not terminal. That is not an error; the
    client polls as it would after a long-poll that timed out.

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        wait (int | Unset):  Default: 0.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        wait=wait,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: int | Unset = 0,
    x_request_id: str | Unset = UNSET,
) -> Job | Problem | None:
    """Read a job, optionally waiting for it to finish

     With `wait=N`, the response comes as soon as the job is terminal, or
    after N seconds with its current state, whichever is first. While the
    job is not terminal, `Retry-After` suggests when to ask again.

    A client may hold a limited number of long-polls open at once (the
    server's `max_waits_per_client`, 100 by default). Beyond it, `wait`
    is ignored: the job is returned at once, as without it, with
    `Retry-After` while it is not terminal. That is not an error; the
    client polls as it would after a long-poll that timed out.

    Args:
        id (str): A job id, `job_` and a ULID. Example: job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        wait (int | Unset):  Default: 0.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            wait=wait,
            x_request_id=x_request_id,
        )
    ).parsed
