"""The env file as the VM receives it: the deployer-only registry login left out."""

from shipyard.envfile.load import parse_env_text
from shipyard.envfile.schema import BY_NAME
from shipyard.envfile.upload import for_vm

TEXT = (
    "# staging\n"
    "APP_ENV=staging\n"
    "REGISTRY_USERNAME=ci-bot\n"
    'REGISTRY_PASSWORD="first line\n'
    'second line"\n'
    "POSTGRES_PASSWORD=kept-secret-value  # a comment\n"
)


def test_the_registry_login_never_reaches_the_vm():
    sent = for_vm(TEXT)
    assert sent == "# staging\nAPP_ENV=staging\nPOSTGRES_PASSWORD=kept-secret-value  # a comment\n"
    assert {entry.key for entry in parse_env_text(sent).entries} == {
        "APP_ENV",
        "POSTGRES_PASSWORD",
    }


def test_a_file_without_deployer_only_variables_is_sent_as_written():
    text = "# x\nAPP_ENV=production\n\nLOG_LEVEL=INFO"
    assert for_vm(text) == text


def test_only_the_registry_login_and_local_tls_files_are_deployer_only():
    assert {name for name, v in BY_NAME.items() if v.deployer_only} == {
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
        "TLS_TRUST_FILE",
    }
