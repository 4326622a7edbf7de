"""Fixtures of the dependency tests: the engine tests' environments and state bucket, and
two provider-free fixture templates loaded through the real loader (`modules/`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import TemplateVersion
from catalog.services import load_template, store_template
from tests.provisioning.engine.conftest import envs, state  # noqa: F401 - shared fixtures

MODULES = Path(__file__).resolve().parent / "modules"


def load(slug: str) -> TemplateVersion:
    """Load a fixture folder as the template's current version, as `sync_templates` would."""
    _, version, _ = store_template(load_template(MODULES / slug))
    return version


@pytest.fixture
def net(db: None) -> TemplateVersion:
    """The upstream template: outputs `subnet_ids` (derived from `prefix`) and more."""
    return load("net-fixture")


@pytest.fixture
def app(db: None, net: TemplateVersion) -> TemplateVersion:
    """The dependant template: `subnet_ids` from a net-fixture resource's `subnet_ids`."""
    return load("app-fixture")


def ask(actor: Any, template: str, name: str, parameters: dict[str, Any], **kw: Any) -> Any:
    from provisioning import actions

    return actions.request_resource(
        actor=actor,
        template=template,
        version=None,
        team=kw.pop("team", "payments"),
        environment=kw.pop("environment", "dev"),
        name=name,
        parameters=parameters,
        **kw,
    ).resource
