"""The entity API: import (200/201/400/403, dry run) and the export in Backstage's format
(filters, paging, one entity, 404 for what you may not see)."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Entity
from catalog.software.services.components import create_service
from catalog.software.services.entities import import_entities, sync_platform_entities

from .entity_docs import SHOP

pytestmark = pytest.mark.django_db
IMPORT = "/api/v1/catalog/import/"
ENTITIES = "/api/v1/catalog/entities"


def test_import_creates_then_reports_unchanged(api_as: Any, bob: Any) -> None:
    response = api_as(bob).post(IMPORT, {"content": SHOP, "dry_run": False}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["written"] is True
    assert set(body["created"]) == {
        "system:default/shop",
        "component:default/orders",
        "api:default/orders-api",
        "component:default/checkout",
        "resource:default/orders-db",
    }
    assert body["items"][1] == {
        "document": 2,
        "ref": "component:default/orders",
        "action": "create",
        "team": "payments",
        "service": None,
    }

    again = api_as(bob).post(IMPORT, {"content": SHOP}, format="json")
    assert again.status_code == 200
    assert again.json()["created"] == [] and len(again.json()["unchanged"]) == 5


def test_dry_run_answers_200_and_writes_nothing(api_as: Any, bob: Any) -> None:
    response = api_as(bob).post(IMPORT, {"content": SHOP, "dry_run": True}, format="json")

    assert response.status_code == 200
    assert response.json()["written"] is False and len(response.json()["created"]) == 5
    assert not Entity.objects.exclude(kind="Group").exists()


def test_invalid_documents_answer_400_by_document_and_field(api_as: Any, bob: Any) -> None:
    content = SHOP.replace("  type: database\n", "")

    response = api_as(bob).post(IMPORT, {"content": content}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == {"document 5, spec.type": ["required"]}
    assert response.json()["report"]["errors"][0]["ref"] == "resource:default/orders-db"
    assert not Entity.objects.exclude(kind="Group").exists()


def test_missing_content_is_a_400(api_as: Any, bob: Any) -> None:
    response = api_as(bob).post(IMPORT, {"dry_run": True}, format="json")
    assert response.status_code == 400
    assert "content" in response.json()["detail"]


def test_another_team_gets_403_naming_the_documents(api_as: Any, carol: Any) -> None:
    response = api_as(carol).post(IMPORT, {"content": SHOP}, format="json")

    assert response.status_code == 403
    detail = response.json()["detail"]
    assert set(detail) == {f"document {n}" for n in range(1, 6)}
    assert "team payments" in detail["document 1"][0]
    assert not Entity.objects.exclude(kind="Group").exists()


def test_signed_out_is_401(api_as: Any) -> None:
    assert api_as(None).post(IMPORT, {"content": SHOP}, format="json").status_code == 401
    assert api_as(None).get(ENTITIES).status_code == 401


def test_export_is_backstage_entity_format(api_as: Any, bob: Any, carol: Any) -> None:
    import_entities(SHOP, actor=bob)

    response = api_as(carol).get(f"{ENTITIES}/component/default/orders")

    assert response.status_code == 200
    entity = response.json()
    assert entity["apiVersion"] == "backstage.io/v1alpha1"
    assert entity["kind"] == "Component"
    meta = entity["metadata"]
    assert {k: meta[k] for k in ("name", "namespace", "description", "tags")} == {
        "name": "orders",
        "namespace": "default",
        "description": "Takes orders.",
        "tags": ["python", "orders"],
    }
    assert meta["links"] == [{"url": "https://orders.example.com", "title": "Orders"}]
    assert meta["labels"] == {} and meta["annotations"] == {}
    assert len(meta["uid"]) == 36
    assert entity["spec"]["providesApis"] == ["orders-api"]
    assert {"type": "providesApi", "targetRef": "api:default/orders-api"} in entity["relations"]
    assert {"type": "ownedBy", "targetRef": "group:default/payments"} in entity["relations"]
    # Any case of the kind, as Backstage.
    assert api_as(carol).get(f"{ENTITIES}/API/default/orders-api").status_code == 200
    assert api_as(carol).get(f"{ENTITIES}/component/default/nope").status_code == 404
    assert api_as(carol).get(f"{ENTITIES}/location/default/orders").status_code == 404


def test_list_filters_and_pages(api_as: Any, bob: Any, carol: Any, teams: Any) -> None:
    import_entities(SHOP, actor=bob)
    client = api_as(carol)

    def refs(**params: Any) -> list[str]:
        body = client.get(ENTITIES, params).json()
        return [
            f"{e['kind'].lower()}:{e['metadata']['namespace']}/{e['metadata']['name']}"
            for e in body["results"]
        ]

    assert refs(kind="component") == ["component:default/checkout", "component:default/orders"]
    assert refs(kind="Component", lifecycle="experimental") == ["component:default/checkout"]
    assert refs(tag="python") == ["component:default/orders"]
    assert refs(tag="pyth") == []
    assert set(refs(owner="payments")) == {
        "system:default/shop",
        "component:default/orders",
        "api:default/orders-api",
        "component:default/checkout",
        "resource:default/orders-db",
    }
    assert refs(owner="group:default/search") == []
    assert refs(kind="nonsense") == []

    page = client.get(ENTITIES, {"page_size": 2, "owner": "payments"}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    second = client.get(page["next"]).json()
    assert len(second["results"]) == 2


def test_platform_resources_are_404_to_another_team(
    api_as: Any, bob: Any, carol: Any, teams: Any
) -> None:
    from django.utils import timezone

    from catalog.models import Template, TemplateVersion
    from idp.services import upsert_environment
    from provisioning.models import Resource

    service = create_service(actor=bob, team=teams["payments"], name="Orders", slug="orders")
    template = Template.objects.create(slug="s3-bucket", title="S3 bucket")
    version = TemplateVersion.objects.create(template=template, number=1, content_hash="x")
    Resource.objects.create(
        team=teams["payments"],
        service=service,
        template=template,
        template_version=version,
        environment=upsert_environment("dev", name="Dev", order=10),
        name="files",
        status="provisioned",
        provisioned_at=timezone.now(),
    )
    sync_platform_entities()
    path = f"{ENTITIES}/resource/default/payments-dev-files"

    assert api_as(bob).get(path).status_code == 200
    assert api_as(carol).get(path).status_code == 404
    listed = api_as(carol).get(ENTITIES, {"kind": "resource"}).json()
    assert listed["count"] == 0
    component = api_as(carol).get(f"{ENTITIES}/component/default/orders").json()
    assert all("payments-dev-files" not in r["targetRef"] for r in component["relations"])
    bobs = api_as(bob).get(f"{ENTITIES}/component/default/orders").json()
    assert {"type": "dependsOn", "targetRef": "resource:default/payments-dev-files"} in bobs[
        "relations"
    ]


def test_list_query_count_does_not_grow_with_entities(
    api_as: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    import_entities(SHOP, actor=bob)
    client = api_as(bob)
    client.get(ENTITIES)  # token and grants warmed
    with django_assert_max_num_queries(8):
        body = client.get(ENTITIES, {"page_size": 100}).json()
    assert body["count"] >= 6
