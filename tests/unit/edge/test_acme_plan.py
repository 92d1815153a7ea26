"""The ACME client's command lines, the edge settings read from an env file, lego's
failure line, and the refusal of an nginx that cannot serve TLS."""

from __future__ import annotations

import pytest

from shipyard.edge.acme import CertsLayout, lego_argv, renew_days, renew_script
from shipyard.edge.certs import lego_failure
from shipyard.edge.preflight import check_edge_mounts
from shipyard.edge.settings import ACME_DIRECTORIES, edge_settings
from shipyard.errors import ConfigError, PrerequisiteError

LAYOUT = CertsLayout("/srv/docstore/shared/certs")
HTTPS = {"PUBLIC_URL": "https://docs.example.com", "ACME_EMAIL": "ops@example.com"}


def test_lego_runs_on_the_host_network_with_shared_certs_and_webroot():
    argv = lego_argv(
        "goacme/lego:v4.9.1",
        LAYOUT,
        directory="https://acme.example/dir",
        names=["docs.example.com", "www.example.com"],
        email="ops@example.com",
        days=None,
        test_ca=False,
    )
    assert argv[:6] == ["docker", "run", "--rm", "--network", "host", "--volume"]
    assert argv[6] == "/srv/docstore/shared/certs:/certs"
    assert argv[-1] == "run"
    flags = argv[argv.index("--server") :]
    assert flags[:2] == ["--server", "https://acme.example/dir"]
    assert flags[6:8] == ["--http.webroot", "/certs/webroot"]
    assert flags.count("--domains") == 2
    script = argv[argv.index("-c") + 1]
    assert "/certs/acme/certificates/docs.example.com.pem" in script
    assert 'mv -f "$dst.tmp" "$dst"' in script
    assert "chmod 600" in script and "chown 101:101" in script


def test_a_person_renews_without_lego_s_random_wait_and_trusts_a_test_ca():
    argv = lego_argv(
        "i", LAYOUT, directory="https://127.0.0.1:14000/dir", names=["localhost"],
        email="a@example.org", days=10, test_ca=True,
    )  # fmt: skip
    assert argv[-4:] == ["renew", "--days", "10", "--no-random-sleep"]
    assert "LEGO_CA_CERTIFICATES=/certs/acme-ca.pem" in argv


def test_the_vm_s_renew_script_keeps_the_wait_and_renews_at_a_third():
    text = renew_script(
        "https://acme.example/dir", ["docs.example.com"], "o@example.com", 22, False
    )
    assert "renew --days 22\n" in text
    assert "--no-random-sleep" not in text
    assert "LEGO_CA_CERTIFICATES" not in text


@pytest.mark.parametrize(("lifetime", "days"), [(90, 30), (64, 22), (45, 15), (30, 10), (1, 1)])
def test_renew_days_is_a_third_of_the_lifetime(lifetime, days):
    assert renew_days(lifetime) == days


def test_settings_from_the_env_file():
    settings = edge_settings({**HTTPS, "TLS_EXTRA_NAMES": "www.example.com, docs.example.com"})
    assert settings.tls
    assert settings.names == ("docs.example.com", "www.example.com")
    assert settings.acme_directory == ACME_DIRECTORIES["letsencrypt"]
    staging = edge_settings({**HTTPS, "ACME_DIRECTORY": "letsencrypt-staging"})
    assert "staging" in staging.acme_directory
    assert not edge_settings({"PUBLIC_URL": "http://127.0.0.1:8080"}).tls


def test_bad_edge_settings_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="ACME_EMAIL is not set"):
        edge_settings({"PUBLIC_URL": "https://docs.example.com"})
    with pytest.raises(ConfigError, match="neither letsencrypt"):
        edge_settings({**HTTPS, "ACME_DIRECTORY": "http://acme.example/dir"})
    with pytest.raises(ConfigError, match="set together"):
        edge_settings({**HTTPS, "TLS_CERT_FILE": "cert.pem"})


def test_lego_s_failure_line_names_the_domain():
    output = (
        "2026/12/03 09:40:01 [INFO] [unpointed.test] acme: Trying to solve HTTP-01\n"
        "2026/12/03 09:40:02 Could not obtain certificates:\n"
        "\terror: one or more domains had a problem:\n"
        "[unpointed.test] acme: error: 400 :: urn:ietf:params:acme:error:dns :: "
        "no valid A records found\n"
    )
    assert lego_failure(output).startswith("unpointed.test: acme: error: 400")


def test_an_https_environment_needs_nginx_with_the_certificate_mount():
    check_edge_mounts("staging", ["/run/app /etc/nginx/certs /var/www/acme"], tls=True)
    check_edge_mounts("staging", ["/run/app"], tls=False)
    with pytest.raises(PrerequisiteError, match="does not mount /etc/nginx/certs"):
        check_edge_mounts("staging", ["/run/app"], tls=True)
