"""Portal pages: catalog, template page, the request form built from the schema, services."""

from __future__ import annotations

import re
from typing import Any

import pytest

from catalog.models import Service, Template
from catalog.services import sync_templates
from catalog.software.services.components import create_service
from idp.models import AuditEvent


def test_catalog_page_cards_search_and_category(synced: Any, client_as: Any, alice: Any) -> None:
    client = client_as(alice)
    page = client.get("/catalog/").content.decode()
    assert "S3 bucket" in page and "Owner: Platform" in page and "Version v1" in page
    assert 'value="messaging"' in page
    page = client.get("/catalog/", {"category": "messaging"}).content.decode()
    assert "SQS queue" in page and "S3 bucket" not in page
    page = client.get("/catalog/", {"q": "postgres"}).content.decode()
    assert "RDS PostgreSQL" in page and "SQS queue" not in page


def test_template_page_shows_parameters_outputs_versions_and_readme(
    synced: Any, client_as: Any, alice: Any
) -> None:
    page = client_as(alice).get("/catalog/templates/example-config/").content.decode()
    assert '<code>secret_token</code> <span class="badge warn">sensitive</span>' in page
    assert "<code>config_id</code>" in page
    assert "First version." in page
    assert "<strong>no cloud provider</strong>" in page  # Markdown rendered
    assert "idp_team" not in page


def test_readme_script_is_inert(db: None, write_template: Any, client_as: Any, alice: Any) -> None:
    write_template(
        "mini",
        {
            "README.md": (
                "# Hi\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
                "[click](javascript:alert(1))\n"
            )
        },
    )
    assert sync_templates().ok
    page = client_as(alice).get("/catalog/templates/mini/").content.decode()
    readme = page.split('class="card readme">')[1].split("</div>")[0]
    assert "<script" not in readme and "onerror" not in readme and "javascript:" not in readme
    assert "<h1>Hi</h1>" in readme


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/templates/..%2F..%2Fetc/",
        "/catalog/templates/nope/",
        "/catalog/templates/..%2fsecrets/request/",
    ],
)
def test_path_tricks_are_not_found(synced: Any, client_as: Any, alice: Any, path: str) -> None:
    assert client_as(alice).get(path).status_code == 404


def test_request_form_widgets_from_the_schema(
    synced: Any, environments: Any, client_as: Any, alice: Any
) -> None:
    page = client_as(alice).get("/catalog/templates/example-config/request/").content.decode()
    assert re.search(r'<input type="password" name="p-secret_token"', page)
    assert re.search(r'<input type="number" name="p-replicas" value="1"', page)
    assert re.search(r'<textarea name="p-labels"', page)
    assert re.search(r'<input type="text" name="p-message" value="hello"', page)
    assert '<option value="payments"' in page and "search" not in page.split('name="team"')[1][:300]
    assert 'name="expires_at"' in page  # dev allows an expiry
    page = client_as(alice).get("/catalog/templates/dynamodb-table/request/").content.decode()
    assert re.search(r'<select name="p-billing_mode"', page)
    assert 'type="checkbox" name="p-point_in_time_recovery"' in page


def test_request_form_errors_next_to_their_fields(
    synced: Any, environments: Any, client_as: Any, alice: Any, teams: Any
) -> None:
    response = client_as(alice).post(
        "/catalog/templates/example-config/request/",
        {
            "team": "payments",
            "environment": "dev",
            "name": "demo",
            "p-message": "<b>",
            "p-replicas": "12",
            "p-labels": "{not json",
            "p-secret_token": "short-secret-x",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()

    def errors_of(field: str) -> str:
        return page.split(f'id="field-{field}"')[1].split('<div class="field"')[0]

    assert "Not valid JSON" in errors_of("p-labels")
    assert 'class="errorlist' in errors_of("p-labels")
    # The JSON error stops before the schema check; fix it and the schema errors show by field.
    response = client_as(alice).post(
        "/catalog/templates/example-config/request/",
        {
            "team": "payments",
            "environment": "dev",
            "name": "demo",
            "p-message": "<b>",
            "p-replicas": "12",
            "p-labels": '{"a": "b"}',
            "p-secret_token": "short",
        },
    )
    page = response.content.decode()
    assert "Use letters, digits, spaces and , . ! ? - (at most 100)" in errors_of("p-message")
    assert "Between 1 and 10." in errors_of("p-replicas")
    assert "At least 8 characters." in errors_of("p-secret_token")
    assert "short" not in errors_of("p-secret_token").split("<input")[1].split(">")[0]


def test_expiry_only_where_the_environment_allows_it(
    synced: Any, environments: Any, client_as: Any, alice: Any, teams: Any
) -> None:
    response = client_as(alice).post(
        "/catalog/templates/example-config/request/",
        {
            "team": "payments",
            "environment": "prod",
            "name": "demo",
            "expires_at": "2099-01-01T00:00",
        },
    )
    assert response.status_code == 400
    assert "does not allow an expiry" in response.content.decode()


def test_submit_creates_a_pending_resource_and_redirects(
    synced: Any, environments: Any, client_as: Any, alice: Any, teams: Any
) -> None:
    from provisioning.models import Resource

    service = create_service(actor=None, team=teams["payments"], name="Payments API")
    response = client_as(alice).post(
        "/catalog/templates/example-config/request/",
        {
            "team": "payments",
            "service": service.slug,
            "environment": "dev",
            "name": "demo",
            "p-message": "hi",
            "p-replicas": "3",
            "p-labels": '{"tier": "demo"}',
            "p-secret_token": "long-enough-secret",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    resource = Resource.objects.get(name="demo")
    assert response["Location"] == resource.get_absolute_url()
    assert resource.status == "pending" and resource.service == service
    assert resource.parameters["replicas"] == 3 and resource.parameters["labels"] == {
        "tier": "demo"
    }
    assert "long-enough-secret" not in str(resource.parameters)
    # The service page lists it.
    page = client_as(alice).get(service.get_absolute_url()).content.decode()
    assert f'href="{resource.get_absolute_url()}">demo</a>' in page


def test_deprecated_template_form_refused(synced: Any, client_as: Any, alice: Any) -> None:
    Template.objects.filter(slug="vpc").update(deprecated=True)
    response = client_as(alice).get("/catalog/templates/vpc/request/", follow=True)
    assert "deprecated" in response.content.decode()
    assert response.redirect_chain[-1][0] == "/catalog/templates/vpc/"


# --- Services ------------------------------------------------------------------------------


@pytest.fixture
def services_(teams: Any) -> dict[str, Service]:
    return {
        "payments-api": create_service(
            actor=None, team=teams["payments"], name="Payments API", lifecycle="production"
        ),
        "ledger": create_service(actor=None, team=teams["payments"], name="Ledger"),
        "search-api": create_service(actor=None, team=teams["search"], name="Search API"),
    }


def test_service_list_only_your_teams_with_filters(
    services_: Any, client_as: Any, alice: Any
) -> None:
    client = client_as(alice)
    page = client.get("/catalog/services/").content.decode()
    assert "Payments API" in page and "Ledger" in page and "Search API" not in page
    assert "New service" not in page  # members do not create
    page = client.get("/catalog/services/", {"lifecycle": "production"}).content.decode()
    assert "Payments API" in page and "Ledger" not in page
    page = client.get("/catalog/services/", {"q": "ledg"}).content.decode()
    assert "Ledger" in page and "Payments API" not in page


def test_service_detail_visibility_and_sections(
    services_: Any, client_as: Any, alice: Any, carol: Any
) -> None:
    page = client_as(alice).get("/catalog/services/payments-api/").content.decode()
    assert 'id="resources"' in page and 'id="pipelines"' in page and 'id="costs"' in page
    assert "Edit</a>" not in page
    assert client_as(carol).get("/catalog/services/payments-api/").status_code == 404


def test_maintainer_creates_edits_and_archives(teams: Any, client_as: Any, bob: Any) -> None:
    client = client_as(bob)
    response = client.post(
        "/catalog/services/new/",
        {
            "name": "Refunds worker",
            "team": "payments",
            "lifecycle": "experimental",
            "tier": "2",
            "links": '[{"title": "Runbook", "url": "https://wiki.example.com/r"}]',
            "tags": "python, queue",
        },
    )
    assert (
        response.status_code == 302 and response["Location"] == "/catalog/services/refunds-worker/"
    )
    service = Service.objects.get(slug="refunds-worker")
    assert service.tags == ["python", "queue"] and service.links[0]["title"] == "Runbook"
    response = client.post(
        "/catalog/services/refunds-worker/edit/",
        {
            "name": "Refunds worker",
            "team": "payments",
            "lifecycle": "production",
            "tier": "1",
            "links": "",
            "tags": "",
        },
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.lifecycle == "production" and service.tier == 1 and service.links == []
    assert client.post("/catalog/services/refunds-worker/archive/").status_code == 302
    service.refresh_from_db()
    assert service.archived
    assert AuditEvent.objects.filter(action="service.archived", target_id=str(service.pk)).exists()


def test_service_form_errors_by_field(teams: Any, services_: Any, client_as: Any, bob: Any) -> None:
    response = client_as(bob).post(
        "/catalog/services/new/",
        {
            "name": "Ledger",
            "team": "payments",
            "lifecycle": "experimental",
            "tier": "3",
            "links": "[oops",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not valid JSON" in page.split('id="field-links"')[1].split('<div class="field"')[0]
    response = client_as(bob).post(
        "/catalog/services/new/",
        {
            "name": "Ledger",
            "team": "payments",
            "lifecycle": "experimental",
            "tier": "3",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode().split('id="field-slug"')[1][:800]


def test_members_cannot_edit_or_archive(services_: Any, client_as: Any, alice: Any) -> None:
    client = client_as(alice)
    assert client.get("/catalog/services/ledger/edit/").status_code == 403
    assert client.post("/catalog/services/ledger/archive/").status_code == 403
    assert client.get("/catalog/services/new/").status_code == 403
    assert not Service.objects.get(slug="ledger").archived


def test_request_form_shows_the_cost_estimate(
    synced: Any, environments: Any, client_as: Any, alice: Any
) -> None:
    # example-config: 1.5 USD per replica-month, 1 replica by default.
    page = client_as(alice).get("/catalog/templates/example-config/request/").content.decode()
    assert re.search(
        r'Estimated cost: <strong class="estimate-amount">\$1\.50</strong> / month', page
    )


def test_request_form_offers_only_allowed_environments(
    db: None, environments: Any, write_template: Any, client_as: Any, alice: Any
) -> None:
    from .conftest import MINIMAL_YAML

    write_template("mini", {"template.yaml": MINIMAL_YAML + "allowed_environments: [prod]\n"})
    assert sync_templates().ok
    page = client_as(alice).get("/catalog/templates/mini/request/").content.decode()
    assert '<option value="prod"' in page and '<option value="dev"' not in page
    assert 'name="expires_at"' not in page  # prod allows no expiry
