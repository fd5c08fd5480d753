from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.signature_scheme import SignatureScheme

T = TypeVar("T", bound="ClientWithSecret")


@_attrs_define
class ClientWithSecret:
    """
    Attributes:
        signatures (list[SignatureScheme]): The schemes the client's callbacks are signed with (default `[v1]`); both
            sign side by side.
        signing_public_key (None | str): The `whpk_` public key of the client's new `v1a` key, when this request made
            one (creating a client with `v1a`).
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        name (str):
        created_at (datetime.datetime):
        signing_secret (str): The Standard Webhooks secret (`whsec_…`) that signs this client's callbacks. Shown only
            once.
    """

    signatures: list[SignatureScheme]
    signing_public_key: None | str
    id: str
    name: str
    created_at: datetime.datetime
    signing_secret: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        signatures = []
        for componentsschemas_signature_schemes_item_data in self.signatures:
            componentsschemas_signature_schemes_item = (
                componentsschemas_signature_schemes_item_data.value
            )
            signatures.append(componentsschemas_signature_schemes_item)

        signing_public_key: None | str
        signing_public_key = self.signing_public_key

        id = self.id

        name = self.name

        created_at = self.created_at.isoformat()

        signing_secret = self.signing_secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "signatures": signatures,
                "signing_public_key": signing_public_key,
                "id": id,
                "name": name,
                "created_at": created_at,
                "signing_secret": signing_secret,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        signatures = []
        _signatures = d.pop("signatures")
        for componentsschemas_signature_schemes_item_data in _signatures:
            componentsschemas_signature_schemes_item = SignatureScheme(
                componentsschemas_signature_schemes_item_data
            )

            signatures.append(componentsschemas_signature_schemes_item)

        def _parse_signing_public_key(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        signing_public_key = _parse_signing_public_key(d.pop("signing_public_key"))

        id = d.pop("id")

        name = d.pop("name")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        signing_secret = d.pop("signing_secret")

        client_with_secret = cls(
            signatures=signatures,
            signing_public_key=signing_public_key,
            id=id,
            name=name,
            created_at=created_at,
            signing_secret=signing_secret,
        )

        client_with_secret.additional_properties = d
        return client_with_secret

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
