from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.client import Client
from ...models.problem import Problem
from ...models.update_client_request import UpdateClientRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    body: UpdateClientRequest,
    x_request_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/v1/clients/{id}".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Client | Problem | None:
    if response.status_code == 200:
        response_200 = Client.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Client | Problem]:
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
    body: UpdateClientRequest,
    x_request_id: str | Unset = UNSET,
) -> Response[Client | Problem]:
    """Set a client's retention and signature schemes (admin)

     How long the client's finished jobs are kept before they are deleted
    with everything stored about them. A field left out stays as it is;
    `null` returns it to the server's default
    (`JOBCALL_RETENTION_SECONDS`, `JOBCALL_RETENTION_FAILED_SECONDS`);
    `0` keeps that client's jobs forever.

    `signatures` chooses how the client's callbacks are signed: `[v1]`
    (HMAC, the default), `[v1a]` (ed25519 only) or both. Turning `v1a`
    on gives the client an ed25519 key if it has none; its public key is
    served by `GET /v1/clients/{id}/signing-keys`.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):
        body (UpdateClientRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Client | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
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
    body: UpdateClientRequest,
    x_request_id: str | Unset = UNSET,
) -> Client | Problem | None:
    """Set a client's retention and signature schemes (admin)

     How long the client's finished jobs are kept before they are deleted
    with everything stored about them. A field left out stays as it is;
    `null` returns it to the server's default
    (`JOBCALL_RETENTION_SECONDS`, `JOBCALL_RETENTION_FAILED_SECONDS`);
    `0` keeps that client's jobs forever.

    `signatures` chooses how the client's callbacks are signed: `[v1]`
    (HMAC, the default), `[v1a]` (ed25519 only) or both. Turning `v1a`
    on gives the client an ed25519 key if it has none; its public key is
    served by `GET /v1/clients/{id}/signing-keys`.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):
        body (UpdateClientRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Client | Problem
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: UpdateClientRequest,
    x_request_id: str | Unset = UNSET,
) -> Response[Client | Problem]:
    """Set a client's retention and signature schemes (admin)

     How long the client's finished jobs are kept before they are deleted
    with everything stored about them. A field left out stays as it is;
    `null` returns it to the server's default
    (`JOBCALL_RETENTION_SECONDS`, `JOBCALL_RETENTION_FAILED_SECONDS`);
    `0` keeps that client's jobs forever.

    `signatures` chooses how the client's callbacks are signed: `[v1]`
    (HMAC, the default), `[v1a]` (ed25519 only) or both. Turning `v1a`
    on gives the client an ed25519 key if it has none; its public key is
    served by `GET /v1/clients/{id}/signing-keys`.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):
        body (UpdateClientRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Client | Problem]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: UpdateClientRequest,
    x_request_id: str | Unset = UNSET,
) -> Client | Problem | None:
    """Set a client's retention and signature schemes (admin)

     How long the client's finished jobs are kept before they are deleted
    with everything stored about them. A field left out stays as it is;
    `null` returns it to the server's default
    (`JOBCALL_RETENTION_SECONDS`, `JOBCALL_RETENTION_FAILED_SECONDS`);
    `0` keeps that client's jobs forever.

    `signatures` chooses how the client's callbacks are signed: `[v1]`
    (HMAC, the default), `[v1a]` (ed25519 only) or both. Turning `v1a`
    on gives the client an ed25519 key if it has none; its public key is
    served by `GET /v1/clients/{id}/signing-keys`.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):
        body (UpdateClientRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Client | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
            x_request_id=x_request_id,
        )
    ).parsed
