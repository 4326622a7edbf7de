"""Portal: create with a live preview, the pipeline page with PR and runs, RBAC."""

from __future__ import annotations

from typing import Any

from pipelines import services
from pipelines.models import Pipeline, PipelineRun

ENVS = ["dev", "staging", "prod"]


def _form(**extra: Any) -> dict[str, Any]:
    return {
        "service": "payments-api",
        "template": "python",
        "environments": ENVS,
        "opt_python_version": "",
        "opt_test_command": "",
        **extra,
    }


def test_create_page_offers_templates_environments_and_options(
    client_as: Any, bob: Any, payments_service: Any
) -> None:
    page = client_as(bob).get("/pipelines/new/?service=payments-api&template=go")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="go" selected' in html and "Go version" in html and "Production reviewers" in html
    for env in ENVS:
        assert f'value="{env}"' in html


def test_preview_partial_shows_yaml_with_line_numbers_and_check_results(
    client_as: Any, bob: Any, payments_service: Any
) -> None:
    response = client_as(bob).post("/pipelines/preview/", _form(opt_python_version="3.11"))
    html = response.content.decode()
    assert response.status_code == 200 and 'id="preview"' in html
    assert "badge success" in html and "actionlint found nothing" in html
    assert 'id="L1"' in html and "python-version: &#x27;3.11&#x27;" in html
    bad = client_as(bob).post("/pipelines/preview/", _form(opt_python_version="three"))
    assert "Python version" in bad.content.decode() and "errorlist" in bad.content.decode()
    assert not Pipeline.objects.exists()


def test_bad_options_reshow_the_form_with_the_error_by_the_field(
    client_as: Any, bob: Any, payments_service: Any
) -> None:
    response = client_as(bob).post(
        "/pipelines/new/?service=payments-api", _form(opt_working_directory="../etc")
    )
    assert response.status_code == 400
    field_html = response.content.decode().split('id="id_opt_working_directory"', 1)[1][:400]
    assert "errorlist" in field_html and "inside the repository" in field_html
    assert not Pipeline.objects.exists()


def test_create_then_detail_shows_runs_per_environment(
    client_as: Any, bob: Any, payments_service: Any
) -> None:
    response = client_as(bob).post("/pipelines/new/?service=payments-api", _form())
    pipeline = Pipeline.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/pipelines/{pipeline.pk}/"
    PipelineRun.objects.create(
        pipeline=pipeline,
        environment="dev",
        github_run_id=9,
        status="in_progress",
        html_url="https://github.com/x/runs/9",
    )
    page = client_as(bob).get(f"/pipelines/{pipeline.pk}/").content.decode()
    assert 'id="env-dev"' in page and "in_progress" in page
    assert 'hx-trigger="every 5s"' in page  # live while running
    assert "Deliver as pull request" in page
    listing = client_as(bob).get("/pipelines/").content.decode()
    assert f"/pipelines/{pipeline.pk}/" in listing


def test_member_sees_but_cannot_create_or_deliver(
    client_as: Any, alice: Any, bob: Any, payments_service: Any
) -> None:
    pipeline = services.create_pipeline(
        payments_service, template="go", environments=ENVS, actor=bob
    )
    client = client_as(alice)
    assert client.get(f"/pipelines/{pipeline.pk}/").status_code == 200
    assert (
        "Deliver as pull request" not in client.get(f"/pipelines/{pipeline.pk}/").content.decode()
    )
    assert client.post(f"/pipelines/{pipeline.pk}/deliver/").status_code == 403
    form = client.post("/pipelines/new/?service=payments-api", _form(slug="mine"))
    assert form.status_code == 400 and not Pipeline.objects.filter(slug="mine").exists()


def test_another_team_gets_404(client_as: Any, bob: Any, carol: Any, payments_service: Any) -> None:
    pipeline = services.create_pipeline(
        payments_service, template="go", environments=ENVS, actor=bob
    )
    client = client_as(carol)
    for url in (
        f"/pipelines/{pipeline.pk}/",
        f"/pipelines/{pipeline.pk}/runs/",
        "/pipelines/new/?service=payments-api",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/pipelines/{pipeline.pk}/deliver/").status_code == 404
    assert f"/pipelines/{pipeline.pk}/" not in client.get("/pipelines/").content.decode()


def test_edit_regenerates_and_redelivers_to_the_same_pull_request(
    client_as: Any, bob: Any, payments_service: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pipeline = services.create_pipeline(
        payments_service,
        template="python",
        environments=ENVS,
        options={"reviewers": ["payments-lead"]},
        actor=bob,
    )
    client = client_as(bob)
    page = client.get(f"/pipelines/{pipeline.pk}/edit/").content.decode()
    assert "Edit pipeline python" in page and 'value="payments-lead"' in page
    bad = client.post(f"/pipelines/{pipeline.pk}/edit/", _form(opt_python_version="3 .x"))
    assert bad.status_code == 400
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/pipelines/{pipeline.pk}/edit/",
            _form(environments=["dev", "prod"], opt_python_version="3.13", deliver="1"),
        )
    assert response.status_code == 302
    pipeline.refresh_from_db()
    assert pipeline.environments == ["dev", "prod"] and pipeline.options["python_version"] == "3.13"
    assert "deploy-staging" not in pipeline.yaml and pipeline.delivery_state == "queued"
    assert len(callbacks) == 1
