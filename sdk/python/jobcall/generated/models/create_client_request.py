from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.signature_scheme import SignatureScheme
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateClientRequest")


@_attrs_define
class CreateClientRequest:
    """
    Attributes:
        name (str):
        signatures (list[SignatureScheme] | None | Unset): How its callbacks are signed (default `[v1]`; null is the
            default too).
    """

    name: str
    signatures: list[SignatureScheme] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        signatures: list[str] | None | Unset
        if isinstance(self.signatures, Unset):
            signatures = UNSET
        elif isinstance(self.signatures, list):
            signatures = []
            for componentsschemas_signature_schemes_item_data in self.signatures:
                componentsschemas_signature_schemes_item = (
                    componentsschemas_signature_schemes_item_data.value
                )
                signatures.append(componentsschemas_signature_schemes_item)

        else:
            signatures = self.signatures

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if signatures is not UNSET:
            field_dict["signatures"] = signatures

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_signatures(data: object) -> list[SignatureScheme] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                signatures_type_0 = []
                _signatures_type_0 = data
                for componentsschemas_signature_schemes_item_data in _signatures_type_0:
                    componentsschemas_signature_schemes_item = SignatureScheme(
                        componentsschemas_signature_schemes_item_data
                    )

                    signatures_type_0.append(componentsschemas_signature_schemes_item)

                return signatures_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[SignatureScheme] | None | Unset, data)

        signatures = _parse_signatures(d.pop("signatures", UNSET))

        create_client_request = cls(
            name=name,
            signatures=signatures,
        )

        return create_client_request
