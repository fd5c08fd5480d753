from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_list import JobList
from ...models.job_status import JobStatus
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: JobStatus | Unset = UNSET,
    kind: str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["kind"] = kind

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobList | Problem | None:
    if response.status_code == 200:
        response_200 = JobList.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[JobList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: JobStatus | Unset = UNSET,
    kind: str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> Response[JobList | Problem]:
    """List jobs

     The client's jobs, newest first, a page at a time. Pass `next_cursor` as `cursor` for the next page.

    Args:
        status (JobStatus | Unset): `queued` → `running` → `succeeded` | `failed` | `canceled`; a
            job
            waiting for a retry is `queued` again.
        kind (str | Unset):
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): A job id, `job_` and a ULID. Example:
            job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobList | Problem]
    """

    kwargs = _get_kwargs(
        status=status,
        kind=kind,
        limit=limit,
        cursor=cursor,
        x_request_id=x_request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: JobStatus | Unset = UNSET,
    kind: str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> JobList | Problem | None:
    """List jobs

     The client's jobs, newest first, a page at a time. Pass `next_cursor` as `cursor` for the next page.

    Args:
        status (JobStatus | Unset): `queued` → `running` → `succeeded` | `failed` | `canceled`; a
            job
            waiting for a retry is `queued` again.
        kind (str | Unset):
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): A job id, `job_` and a ULID. Example:
            job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobList | Problem
    """

    return sync_detailed(
        client=client,
        status=status,
        kind=kind,
        limit=limit,
        cursor=cursor,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: JobStatus | Unset = UNSET,
    kind: str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> Response[JobList | Problem]:
    """List jobs

     The client's jobs, newest first, a page at a time. Pass `next_cursor` as `cursor` for the next page.

    Args:
        status (JobStatus | Unset): `queued` → `running` → `succeeded` | `failed` | `canceled`; a
            job
            waiting for a retry is `queued` again.
        kind (str | Unset):
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): A job id, `job_` and a ULID. Example:
            job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobList | Problem]
    """

    kwargs = _get_kwargs(
        status=status,
        kind=kind,
        limit=limit,
        cursor=cursor,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: JobStatus | Unset = UNSET,
    kind: str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> JobList | Problem | None:
    """List jobs

     The client's jobs, newest first, a page at a time. Pass `next_cursor` as `cursor` for the next page.

    Args:
        status (JobStatus | Unset): `queued` → `running` → `succeeded` | `failed` | `canceled`; a
            job
            waiting for a retry is `queued` again.
        kind (str | Unset):
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): A job id, `job_` and a ULID. Example:
            job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            kind=kind,
            limit=limit,
            cursor=cursor,
            x_request_id=x_request_id,
        )
    ).parsed
