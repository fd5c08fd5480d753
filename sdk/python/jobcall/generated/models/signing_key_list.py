from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.signature_scheme import SignatureScheme

if TYPE_CHECKING:
    from ..models.signing_key import SigningKey


T = TypeVar("T", bound="SigningKeyList")


@_attrs_define
class SigningKeyList:
    """
    Attributes:
        signatures (list[SignatureScheme]): The schemes the client's callbacks are signed with (default `[v1]`); both
            sign side by side.
        data (list[SigningKey]): The keys that sign now, newest first (empty until the client has a `v1a` key).
    """

    signatures: list[SignatureScheme]
    data: list[SigningKey]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        signatures = []
        for componentsschemas_signature_schemes_item_data in self.signatures:
            componentsschemas_signature_schemes_item = (
                componentsschemas_signature_schemes_item_data.value
            )
            signatures.append(componentsschemas_signature_schemes_item)

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "signatures": signatures,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.signing_key import SigningKey

        d = dict(src_dict)
        signatures = []
        _signatures = d.pop("signatures")
        for componentsschemas_signature_schemes_item_data in _signatures:
            componentsschemas_signature_schemes_item = SignatureScheme(
                componentsschemas_signature_schemes_item_data
            )

            signatures.append(componentsschemas_signature_schemes_item)

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = SigningKey.from_dict(data_item_data)

            data.append(data_item)

        signing_key_list = cls(
            signatures=signatures,
            data=data,
        )

        signing_key_list.additional_properties = d
        return signing_key_list

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
