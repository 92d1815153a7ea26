"""Certificate facts, the renewal point (a third of the lifetime, whatever it is), and the
refusal of a brought certificate that is unfit."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shipyard.edge.certinfo import byo_problem, certificate_info

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)
PEM = serialization.Encoding.PEM


def make(names: list[str], days: float = 90, start: datetime.datetime = NOW) -> tuple[bytes, bytes]:
    """A self-issued certificate for `names` valid `days` from `start`, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(PEM), key_pem


def test_facts_of_the_leaf():
    cert, _ = make(["docs.example.com", "www.example.com"], days=64)
    info = certificate_info(cert)
    assert info.issuer == "Test CA"
    assert info.names == ("docs.example.com", "www.example.com")
    assert info.lifetime_days == pytest.approx(64)
    assert info.days_left(NOW + datetime.timedelta(days=4)) == pytest.approx(60)


@pytest.mark.parametrize("lifetime", [90, 64, 45, 30])
def test_renewal_is_due_when_a_third_of_any_lifetime_is_left(lifetime):
    info = certificate_info(make(["a.example"], days=lifetime)[0])
    third = datetime.timedelta(days=lifetime / 3)
    end = info.not_after
    assert not info.renewal_due(end - third - datetime.timedelta(hours=1))
    assert info.renewal_due(end - third + datetime.timedelta(hours=1))


def test_wildcards_cover_one_label():
    info = certificate_info(make(["*.example.com"])[0])
    assert info.covers("docs.example.com")
    assert not info.covers("a.b.example.com")
    assert not info.covers("example.com")


def test_a_fit_certificate_passes():
    cert, key = make(["docs.example.com"])
    assert byo_problem(cert, key, ["docs.example.com"], NOW + datetime.timedelta(days=1)) is None


def test_unfit_certificates_are_refused_with_the_reason():
    cert, key = make(["docs.example.com"], days=30)
    _, other_key = make(["docs.example.com"])
    later = NOW + datetime.timedelta(days=31)
    earlier = NOW - datetime.timedelta(days=1)
    inside = NOW + datetime.timedelta(days=1)
    assert "expired on" in str(byo_problem(cert, key, ["docs.example.com"], later))
    assert "not valid before" in str(byo_problem(cert, key, ["docs.example.com"], earlier))
    wrong = byo_problem(cert, key, ["shop.example.com"], inside)
    assert wrong == "does not cover shop.example.com (it names docs.example.com)"
    assert byo_problem(cert, other_key, ["docs.example.com"], inside) == (
        "the key does not belong to the certificate"
    )
    assert "no PEM certificate" in str(byo_problem(b"junk", key, ["docs.example.com"], inside))


def test_preflight_refuses_a_brought_certificate_in_one_line(tmp_path):
    from shipyard.edge.preflight import check_edge_settings
    from shipyard.errors import ConfigError

    cert, key = make(["shop.example.com"], start=datetime.datetime.now(datetime.UTC))
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    values = {
        "PUBLIC_URL": "https://docs.example.com",
        "TLS_CERT_FILE": "cert.pem",
        "TLS_KEY_FILE": "key.pem",
    }
    env_file = tmp_path / ".env.staging"
    with pytest.raises(ConfigError) as refused:
        check_edge_settings(values, env_file)
    assert refused.value.exit_code == 2
    assert refused.value.message == (
        ".env.staging: TLS_CERT_FILE cert.pem: does not cover docs.example.com"
        " (it names shop.example.com)"
    )
    fit = {**values, "PUBLIC_URL": "https://shop.example.com"}
    assert check_edge_settings(fit, env_file).bring_your_own
    with pytest.raises(ConfigError, match=r"TLS_KEY_FILE missing\.pem: no such file"):
        check_edge_settings({**fit, "TLS_KEY_FILE": "missing.pem"}, env_file)
