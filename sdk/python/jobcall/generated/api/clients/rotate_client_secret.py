from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.client_with_secret import ClientWithSecret
from ...models.problem import Problem
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
        "url": "/v1/clients/{id}/rotate-secret".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ClientWithSecret | Problem | None:
    if response.status_code == 200:
        response_200 = ClientWithSecret.from_dict(response.json())

        return response_200

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
) -> Response[ClientWithSecret | Problem]:
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
) -> Response[ClientWithSecret | Problem]:
    """Issue a new signing secret (admin)

     The new secret signs from now on; the previous one keeps signing
    alongside it (a second signature in `webhook-signature`) until the
    rotation overlap ends, so receivers can switch without losing events.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientWithSecret | Problem]
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
) -> ClientWithSecret | Problem | None:
    """Issue a new signing secret (admin)

     The new secret signs from now on; the previous one keeps signing
    alongside it (a second signature in `webhook-signature`) until the
    rotation overlap ends, so receivers can switch without losing events.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientWithSecret | Problem
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
) -> Response[ClientWithSecret | Problem]:
    """Issue a new signing secret (admin)

     The new secret signs from now on; the previous one keeps signing
    alongside it (a second signature in `webhook-signature`) until the
    rotation overlap ends, so receivers can switch without losing events.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientWithSecret | Problem]
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
) -> ClientWithSecret | Problem | None:
    """Issue a new signing secret (admin)

     The new secret signs from now on; the previous one keeps signing
    alongside it (a second signature in `webhook-signature`) until the
    rotation overlap ends, so receivers can switch without losing events.

    Args:
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientWithSecret | Problem
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            x_request_id=x_request_id,
        )
    ).parsed
