"""Pipelines for members: the entry point for whoever may preview, copy and download of the
workflow, and the pull-request option explained when GitHub is not configured."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest

from idp.models import Role
from pipelines import services
from pipelines.models import Pipeline

ENVS = ["dev", "staging", "prod"]
FORM = {
    "service": "payments-api",
    "template": "python",
    "environments": ENVS,
    "opt_python_version": "",
    "opt_test_command": "",
}


@pytest.fixture
def no_github(settings: Any) -> None:
    settings.GITHUB_TOKEN = ""
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_APP_PRIVATE_KEY = ""
    settings.GITHUB_APP_INSTALLATION_ID = ""


@pytest.fixture
def viewer(make_user: Any, teams: Any) -> Any:
    return make_user("vera", team=teams["payments"], role=Role.VIEWER)


def _entry(page: str) -> str | None:
    match = re.search(
        r'<a class="btn secondary" id="create-pipeline" href="([^"]+)">([^<]+)</a>', page
    )
    return f"{match.group(1)} {match.group(2)}" if match else None


def test_entry_point_for_everyone_who_may_preview(
    client_as: Any, alice: Any, bob: Any, viewer: Any, carol: Any, payments_service: Any
) -> None:
    url = "/catalog/services/payments-api/"
    assert _entry(client_as(bob).get(url).content.decode()) == (
        "/pipelines/new/?service=payments-api Create pipeline"
    )
    for member in (alice, viewer):
        page = client_as(member).get(url).content.decode()
        assert _entry(page) == "/pipelines/new/?service=payments-api Preview a pipeline"
        form = client_as(member).get("/pipelines/new/?service=payments-api")
        assert form.status_code == 200
        html = form.content.decode()
        assert "you can still preview" in html and 'name="deliver"' not in html
        preview = client_as(member).post("/pipelines/preview/", FORM)
        assert preview.status_code == 200 and 'id="copy-yaml"' in preview.content.decode()
    # Another team: neither the service nor the pipeline form exist for carol.
    assert client_as(carol).get(url).status_code == 404
    assert client_as(carol).get("/pipelines/new/?service=payments-api").status_code == 404
    assert client_as(carol).post("/pipelines/preview/", FORM).status_code == 404
    assert not Pipeline.objects.exists()


def test_archived_service_offers_no_pipeline(
    client_as: Any, bob: Any, payments_service: Any
) -> None:
    payments_service.archived = True
    payments_service.save()
    assert _entry(client_as(bob).get("/catalog/services/payments-api/").content.decode()) is None


def test_preview_has_copy_and_a_download_of_the_exact_yaml(
    client_as: Any, alice: Any, payments_service: Any
) -> None:
    html = client_as(alice).post("/pipelines/preview/", {**FORM, "slug": "ci"}).content.decode()
    assert 'onclick="idpCopy(this)"' in html and 'id="yaml-source"' in html
    link = re.search(r'<a [^>]*id="download-yaml" download="([^"]+)" href="([^"]+)"', html)
    assert link and link.group(1) == "ci.yml"
    assert link.group(2).startswith("data:application/yaml;charset=utf-8,")
    expected = services.preview(payments_service, "python", ENVS, {}).yaml
    assert unquote(link.group(2).split(",", 1)[1]) == expected


def test_download_endpoint_serves_the_workflow_file(
    client: Any, client_as: Any, alice: Any, bob: Any, carol: Any, payments_service: Any
) -> None:
    pipeline = services.create_pipeline(
        payments_service, template="go", environments=ENVS, actor=bob
    )
    url = f"/pipelines/{pipeline.pk}/workflow.yml"
    assert client.get(url).status_code == 302  # signed out: sign in first
    response = client_as(alice).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="go.yml"'
    assert response["Content-Type"].startswith("application/yaml")
    assert response.content.decode() == pipeline.yaml
    page = client_as(alice).get(f"/pipelines/{pipeline.pk}/").content.decode()
    assert f'href="{url}"' in page and 'id="copy-yaml"' in page
    assert client_as(carol).get(url).status_code == 404


def test_deliver_option_unticked_and_explained_without_github(
    no_github: None, client_as: Any, bob: Any, payments_service: Any
) -> None:
    html = client_as(bob).get("/pipelines/new/?service=payments-api").content.decode()
    box = re.search(r'<input type="checkbox" name="deliver"[^>]*>', html)
    assert box and "checked" not in box.group(0) and "disabled" in box.group(0)
    assert "GitHub is not configured: set GITHUB_API_URL and GITHUB_TOKEN" in html
    # Creating still works and keeps the pipeline as a draft.
    response = client_as(bob).post("/pipelines/new/?service=payments-api", FORM)
    pipeline = Pipeline.objects.get()
    assert response.status_code == 302 and pipeline.delivery_state == "draft"
    detail = client_as(bob).get(f"/pipelines/{pipeline.pk}/").content.decode()
    assert 'id="github-help"' in detail
    assert re.search(r'<button class="btn" type="submit" disabled title="GitHub is not', detail)


def test_deliver_option_ticked_when_github_is_configured(
    github: Any, client_as: Any, bob: Any, payments_service: Any
) -> None:
    html = client_as(bob).get("/pipelines/new/?service=payments-api").content.decode()
    box = re.search(r'<input type="checkbox" name="deliver"[^>]*>', html)
    assert box and "checked" in box.group(0) and "disabled" not in box.group(0)
    assert "GitHub is not configured" not in html
