from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.signature_scheme import SignatureScheme
from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdateClientRequest")


@_attrs_define
class UpdateClientRequest:
    """
    Attributes:
        signatures (list[SignatureScheme] | None | Unset): How its callbacks are signed from now on (null or absent
            leaves it as it is).
        retention_seconds (int | None | Unset): Seconds succeeded and canceled jobs are kept; 0 forever; null the
            server's default.
        retention_failed_seconds (int | None | Unset): Seconds failed jobs are kept; 0 forever; null the server's
            default.
    """

    signatures: list[SignatureScheme] | None | Unset = UNSET
    retention_seconds: int | None | Unset = UNSET
    retention_failed_seconds: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
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

        retention_seconds: int | None | Unset
        if isinstance(self.retention_seconds, Unset):
            retention_seconds = UNSET
        else:
            retention_seconds = self.retention_seconds

        retention_failed_seconds: int | None | Unset
        if isinstance(self.retention_failed_seconds, Unset):
            retention_failed_seconds = UNSET
        else:
            retention_failed_seconds = self.retention_failed_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if signatures is not UNSET:
            field_dict["signatures"] = signatures
        if retention_seconds is not UNSET:
            field_dict["retention_seconds"] = retention_seconds
        if retention_failed_seconds is not UNSET:
            field_dict["retention_failed_seconds"] = retention_failed_seconds

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

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

        def _parse_retention_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        retention_seconds = _parse_retention_seconds(d.pop("retention_seconds", UNSET))

        def _parse_retention_failed_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        retention_failed_seconds = _parse_retention_failed_seconds(
            d.pop("retention_failed_seconds", UNSET)
        )

        update_client_request = cls(
            signatures=signatures,
            retention_seconds=retention_seconds,
            retention_failed_seconds=retention_failed_seconds,
        )

        return update_client_request
