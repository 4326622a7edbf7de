"""Environments and a provider-free template (the provisioning surfaces' own), so tokens
can be tried on real resource requests and approvals."""

from __future__ import annotations

from tests.provisioning.surfaces.conftest import envs, make_resource, template  # noqa: F401
