"""The catalogue, the build contexts, images/compose.yaml and the stack agree."""

from __future__ import annotations

import re

import pytest
import yaml

from shipyard.config import PROJECT_ROOT
from shipyard.errors import ConfigError
from shipyard.images import catalog
from shipyard.images.catalog import BASE_TAG, CATALOG, COMPOSE_FILE, CONTEXT_HASH_LABEL

STACK_FILE = PROJECT_ROOT / "compose" / "compose.yaml"


def build_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def test_keys_variables_and_tags_are_unique_and_local():
    for attribute in ("key", "variable", "upstream", "standin"):
        values = [getattr(image, attribute) for image in CATALOG]
        assert len(values) == len(set(values)), attribute
    for image in CATALOG:
        assert image.standin.startswith("shipyard-local/")
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*_IMAGE", image.variable)


def test_the_base_catalog_is_what_the_local_stack_needs():
    assert catalog.keys() == ["python", "postgres", "nginx", "objectstore"]
    assert [image.variable for image in CATALOG] == [
        "PYTHON_IMAGE",
        "POSTGRES_IMAGE",
        "NGINX_IMAGE",
        "OBJECTSTORE_IMAGE",
    ]


def test_each_upstream_is_the_default_of_its_variable_in_the_stack():
    # the ACME client runs on VMs only: its service is in the production file
    text = STACK_FILE.read_text(encoding="utf-8")
    text += (STACK_FILE.parent / "compose.production.yaml").read_text(encoding="utf-8")
    for image in (*CATALOG, *catalog.VM_CATALOG):
        defaults = set(re.findall(r"\$\{" + image.variable + r":-([^}]+)\}", text))
        assert defaults == {image.upstream}, image.variable


def test_stand_in_tags_say_the_debian_version_not_the_upstream_one():
    tags = {image.key: image.standin for image in CATALOG}
    assert tags == {
        "python": "shipyard-local/python:3.11",
        "postgres": "shipyard-local/postgres:15",
        "nginx": "shipyard-local/nginx:1.22",
        "objectstore": "shipyard-local/objectstore:seaweedfs-4.48",
    }
    assert {image.key: image.standin for image in catalog.VM_CATALOG} == {
        "acme": "shipyard-local/lego:4.9"
    }


def test_the_local_stack_never_resolves_the_vm_only_acme_client():
    assert "acme" not in [image.key for image in catalog.select(None)]
    assert [image.key for image in catalog.select(["postgres", "acme"])] == ["postgres", "acme"]


def test_build_compose_has_one_service_per_image_with_its_tag_and_context():
    services = build_compose()["services"]
    derived = [derivation.service for _, derivation in catalog.derived_images()]
    assert sorted(services) == sorted(catalog.all_keys() + derived)
    for image in CATALOG:
        service = services[image.key]
        assert service["image"] == image.standin
        assert service["build"]["context"] == f"./{image.key}"
        assert service["build"]["args"]["BASE_IMAGE"].endswith(f":-{BASE_TAG}}}")
        assert ("pip_ca" in service["build"].get("secrets", [])) == image.needs_pip_ca


def test_a_derivation_builds_its_dockerfile_on_the_upstream_image_and_is_labelled():
    services = build_compose()["services"]
    assert [image.key for image, _ in catalog.derived_images()] == ["postgres"]
    for image, derivation in catalog.derived_images():
        build = services[derivation.service]["build"]
        assert services[derivation.service]["image"] == derivation.tag
        assert build["context"] == f"./{image.key}"
        assert build["dockerfile"] in derivation.files
        argument = build["args"][derivation.base_argument]
        assert argument == f"${{SHIPYARD_DERIVE_FROM:-{image.upstream}}}"
        text = (image.context / build["dockerfile"]).read_text(encoding="utf-8")
        assert f"ARG {derivation.base_argument}={image.upstream}" in text
        assert f"FROM ${{{derivation.base_argument}}}" in text
        assert f'{CONTEXT_HASH_LABEL}="${{SHIPYARD_CONTEXT_HASH}}"' in text
        assert all((image.context / name).is_file() for name in derivation.files)
        assert not derivation.tag.startswith("shipyard-local/")  # not a stand-in


def test_pip_ca_secret_comes_from_pip_ca_bundle():
    assert build_compose()["secrets"]["pip_ca"]["file"].startswith("${PIP_CA_BUNDLE:?")


@pytest.mark.parametrize("image", CATALOG, ids=lambda image: image.key)
def test_each_dockerfile_starts_from_the_base_and_carries_the_context_label(image):
    text = (image.context / "Dockerfile").read_text(encoding="utf-8")
    assert not text.lstrip().startswith("# syntax"), "BuildKit would try to pull a frontend"
    assert f"ARG BASE_IMAGE={BASE_TAG}" in text
    assert "FROM ${BASE_IMAGE}" in text
    assert "ARG SHIPYARD_CONTEXT_HASH" in text
    assert f'{CONTEXT_HASH_LABEL}="${{SHIPYARD_CONTEXT_HASH}}"' in text
    assert f'io.shipyard.stand-in-for="{image.upstream.split(":")[0]}' in text
    secret_mounts = "--mount=type=secret,id=pip_ca" in text
    assert secret_mounts == image.needs_pip_ca


def test_get_and_select():
    assert catalog.get("nginx").upstream == "nginx:1.27"
    assert [image.key for image in catalog.select(["objectstore", "python"])] == [
        "python",
        "objectstore",
    ]
    assert catalog.select(None) == list(CATALOG)
    with pytest.raises(ConfigError, match="unknown image 'redis'; known: python, postgres"):
        catalog.get("redis")
