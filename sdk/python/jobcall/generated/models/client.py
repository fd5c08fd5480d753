from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.signature_scheme import SignatureScheme

T = TypeVar("T", bound="Client")


@_attrs_define
class Client:
    """
    Attributes:
        signatures (list[SignatureScheme]): The schemes the client's callbacks are signed with (default `[v1]`); both
            sign side by side.
        id (str): A client id, `cli_` and a ULID. Example: cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z.
        name (str):
        created_at (datetime.datetime):
        retention_seconds (int | None): Its own retention of succeeded and canceled jobs in seconds (0 forever), or null
            for the server's default.
        retention_failed_seconds (int | None): The same for failed jobs.
    """

    signatures: list[SignatureScheme]
    id: str
    name: str
    created_at: datetime.datetime
    retention_seconds: int | None
    retention_failed_seconds: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        signatures = []
        for componentsschemas_signature_schemes_item_data in self.signatures:
            componentsschemas_signature_schemes_item = (
                componentsschemas_signature_schemes_item_data.value
            )
            signatures.append(componentsschemas_signature_schemes_item)

        id = self.id

        name = self.name

        created_at = self.created_at.isoformat()

        retention_seconds: int | None
        retention_seconds = self.retention_seconds

        retention_failed_seconds: int | None
        retention_failed_seconds = self.retention_failed_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "signatures": signatures,
                "id": id,
                "name": name,
                "created_at": created_at,
                "retention_seconds": retention_seconds,
                "retention_failed_seconds": retention_failed_seconds,
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

        id = d.pop("id")

        name = d.pop("name")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_retention_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        retention_seconds = _parse_retention_seconds(d.pop("retention_seconds"))

        def _parse_retention_failed_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        retention_failed_seconds = _parse_retention_failed_seconds(
            d.pop("retention_failed_seconds")
        )

        client = cls(
            signatures=signatures,
            id=id,
            name=name,
            created_at=created_at,
            retention_seconds=retention_seconds,
            retention_failed_seconds=retention_failed_seconds,
        )

        client.additional_properties = d
        return client

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
