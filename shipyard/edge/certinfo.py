"""What a certificate says (issuer, names, validity) and whether it is fit to serve. Pure."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

RENEW_FRACTION = 1 / 3
"""Renew when this fraction of the lifetime remains, whatever the lifetime is."""


@dataclass(frozen=True)
class CertInfo:
    """The leaf certificate of a chain, as `inv certs.status` shows it."""

    subject: str
    issuer: str
    names: tuple[str, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime

    @property
    def lifetime_days(self) -> float:
        """How long the certificate is valid, in days."""
        return (self.not_after - self.not_before).total_seconds() / 86400

    def days_left(self, now: datetime.datetime) -> float:
        """Days until it expires (negative once expired)."""
        return (self.not_after - now).total_seconds() / 86400

    def renewal_due(self, now: datetime.datetime) -> bool:
        """True once a third of the lifetime (or less) remains."""
        return self.days_left(now) <= self.lifetime_days * RENEW_FRACTION

    def covers(self, name: str) -> bool:
        """True when `name` matches one of its DNS names (a `*.` wildcard covers one label)."""
        name = name.lower().rstrip(".")
        for pattern in self.names:
            if pattern == name:
                return True
            if pattern.startswith("*.") and name.partition(".")[2] == pattern[2:]:
                return True
        return False

    def to_dict(self, now: datetime.datetime) -> dict[str, object]:
        """The `--json` form."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "names": list(self.names),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "days_left": round(self.days_left(now), 1),
            "lifetime_days": round(self.lifetime_days, 1),
            "renewal_due": self.renewal_due(now),
        }


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def certificate_info(pem: bytes) -> CertInfo:
    """The first certificate of a PEM bundle (the leaf). ValueError when there is none."""
    chain = x509.load_pem_x509_certificates(pem)
    leaf = chain[0]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(str(value) for value in san.value.get_values_for_type(x509.DNSName))
        names += tuple(str(ip) for ip in san.value.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names = ()
    return CertInfo(
        subject=_common_name(leaf.subject),
        issuer=_common_name(leaf.issuer),
        names=tuple(name.lower() for name in names),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )


def serving_problem(info: CertInfo, names: Sequence[str], now: datetime.datetime) -> str | None:
    """Why a certificate must not be served for `names` at `now` (None when it may): not
    yet valid, expired, or missing one of the names."""
    if now < info.not_before:
        return f"not valid before {info.not_before:%Y-%m-%d %H:%M} UTC"
    if now >= info.not_after:
        return f"expired on {info.not_after:%Y-%m-%d %H:%M} UTC"
    missing = [name for name in names if not info.covers(name)]
    if missing:
        return (
            f"does not cover {', '.join(missing)} (it names {', '.join(info.names) or 'nothing'})"
        )
    return None


def byo_problem(
    cert_pem: bytes, key_pem: bytes, names: Sequence[str], now: datetime.datetime
) -> str | None:
    """Why a brought certificate must not be served (None when it is fit): unreadable,
    not yet valid, expired, missing one of `names`, or not matching its key."""
    try:
        info = certificate_info(cert_pem)
        leaf = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError as exc:
        return f"no PEM certificate could be read ({exc})"
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        return f"the key is not an unencrypted PEM private key ({exc})"
    problem = serving_problem(info, names, now)
    if problem:
        return problem
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != leaf.public_key().public_bytes(der, public):
        return "the key does not belong to the certificate"
    return None
