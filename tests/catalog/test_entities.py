"""Entities in Backstage's descriptor format: import, relations both ways, permissions,
dangling references, and the platform's own facts as entities."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.choices import EntityOrigin
from catalog.models import Entity, EntityRelation
from catalog.software.services.components import create_service
from catalog.software.services.entities import (
    entity_document,
    get_entity,
    import_entities,
    sync_platform_entities,
    visible_entities,
)
from idp import services as idp_services
from idp.models import AuditEvent
from idp.services import Forbidden

from .entity_docs import SHOP

pytestmark = pytest.mark.django_db


def rels(ref: str) -> set[tuple[str, str]]:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    entity = Entity.objects.get(kind__iexact=kind, namespace=namespace, name=name)
    return {(r.type, r.target_ref) for r in entity.relations.all()}


def test_done_when_document_creates_entities_with_relations_both_ways(bob: Any) -> None:
    report = import_entities(SHOP, actor=bob, dry_run=False)

    assert report.ok, (report.errors, report.refused)
    assert sorted(report.created) == sorted(
        [
            "system:default/shop",
            "component:default/orders",
            "api:default/orders-api",
            "component:default/checkout",
            "resource:default/orders-db",
        ]
    )
    assert rels("component:default/orders") == {
        ("ownedBy", "group:default/payments"),
        ("partOf", "system:default/shop"),
        ("providesApi", "api:default/orders-api"),
        ("dependsOn", "resource:default/orders-db"),
    }
    assert rels("api:default/orders-api") == {
        ("ownedBy", "group:default/payments"),
        ("partOf", "system:default/shop"),
        ("apiProvidedBy", "component:default/orders"),
        ("apiConsumedBy", "component:default/checkout"),
    }
    assert ("consumesApi", "api:default/orders-api") in rels("component:default/checkout")
    assert rels("resource:default/orders-db") >= {
        ("dependencyOf", "component:default/orders"),
        ("partOf", "system:default/shop"),
    }
    assert rels("system:default/shop") >= {
        ("hasPart", "component:default/orders"),
        ("hasPart", "component:default/checkout"),
        ("hasPart", "api:default/orders-api"),
        ("hasPart", "resource:default/orders-db"),
    }
    # The owner is the team's Group, which owns all five.
    assert {t for t in rels("group:default/payments") if t[0] == "ownerOf"} == {
        ("ownerOf", ref) for ref in report.created
    }
    # Every edge of the document resolved: nothing dangling, no problems.
    assert not EntityRelation.objects.filter(target__isnull=True).exists()
    assert report.problems == []
    orders = Entity.objects.get(name="orders")
    assert orders.team.slug == "payments"
    assert orders.origin == EntityOrigin.IMPORT
    assert "takes orders" in orders.search_text and "python" in orders.search_text
    assert len(orders.content_hash) == 64
    assert AuditEvent.objects.filter(action="catalog.entities_imported").count() == 1

    again = import_entities(SHOP, actor=bob, dry_run=False)
    assert again.created == [] and again.changed == [] and len(again.unchanged) == 5
    assert EntityRelation.objects.count() == sum(1 for _ in EntityRelation.objects.all())


def test_invalid_documents_are_reported_by_index_and_field_and_nothing_is_written(
    bob: Any,
) -> None:
    broken = SHOP.replace(
        "  owner: payments\n  system: shop\n  consumesApis", "  system: shop\n  consumesApis", 1
    )
    broken += "---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: x}\n"

    report = import_entities(broken, actor=bob, dry_run=False)

    assert [str(e) for e in report.errors] == [
        "document 4 (component:default/checkout), spec.owner: required",
        "document 6 (location:default/x), kind: 'Location' is not one of Component, API, "
        "System, Domain, Resource, Group, User",
    ]
    assert not report.written
    assert not Entity.objects.exclude(kind="Group").exists()


def test_bad_names_and_yaml_are_errors_in_words(bob: Any) -> None:
    bad_name = SHOP.replace("name: checkout", "name: -checkout")
    report = import_entities(bad_name, actor=bob)
    assert report.errors[0].document == 4
    assert report.errors[0].field == "metadata.name"
    assert "starting and ending with a letter or digit" in report.errors[0].message

    report = import_entities(SHOP + "---\nkind: [unclosed\n", actor=bob)
    assert report.errors[0].document == 6
    assert report.errors[0].message.startswith("not valid YAML at line 62")


def test_dry_run_writes_nothing_but_says_what_would_happen(bob: Any) -> None:
    report = import_entities(SHOP, actor=bob, dry_run=True)

    assert report.ok and not report.written
    assert len(report.created) == 5
    assert not Entity.objects.exclude(kind="Group").exists()
    assert not EntityRelation.objects.exists()
    assert not AuditEvent.objects.filter(action="catalog.entities_imported").exists()

    import_entities(SHOP, actor=bob)
    changed = SHOP.replace("Takes orders.", "Takes and tracks orders.")
    preview = import_entities(changed, actor=bob, dry_run=True)
    assert preview.changed == ["component:default/orders"]
    assert len(preview.unchanged) == 4
    assert Entity.objects.get(name="orders").description == "Takes orders."


def test_dangling_references_are_kept_and_resolved_by_a_later_import(bob: Any) -> None:
    first, _, rest = SHOP.partition("---\napiVersion: backstage.io/v1alpha1\nkind: API")
    report = import_entities(first, actor=bob)

    dangling = {(p["entity"], p["ref"]) for p in report.problems}
    assert ("component:default/orders", "api:default/orders-api") in dangling
    assert ("component:default/orders", "resource:default/orders-db") in dangling
    row = EntityRelation.objects.get(type="providesApi")
    assert row.target is None and row.target_ref == "api:default/orders-api"
    orders = Entity.objects.get(name="orders")
    assert any(p["code"] == "dangling-ref" for p in orders.problems)

    import_entities("apiVersion: backstage.io/v1alpha1\nkind: API" + rest, actor=bob)

    row.refresh_from_db()
    assert row.target == Entity.objects.get(name="orders-api")
    assert ("apiProvidedBy", "component:default/orders") in rels("api:default/orders-api")
    orders.refresh_from_db()
    assert orders.problems == []
    assert not EntityRelation.objects.filter(target__isnull=True).exists()


def test_removed_references_lose_both_edges(bob: Any) -> None:
    import_entities(SHOP, actor=bob)
    import_entities(SHOP.replace("  consumesApis: [orders-api]\n", ""), actor=bob)

    assert ("consumesApi", "api:default/orders-api") not in rels("component:default/checkout")
    assert ("apiConsumedBy", "component:default/checkout") not in rels("api:default/orders-api")
    assert ("apiProvidedBy", "component:default/orders") in rels("api:default/orders-api")


def test_unknown_owner_is_flagged_and_needs_a_platform_admin(bob: Any, platform_admin: Any) -> None:
    doc = SHOP.split("---\n")[0].replace("owner: payments", "owner: group:default/nobody")

    refused = import_entities(doc, actor=bob)
    assert refused.refused and "only platform admins" in refused.refused[0].message
    assert refused.refused[0].document == 1
    assert not Entity.objects.filter(kind="System").exists()

    report = import_entities(doc, actor=platform_admin)
    assert report.written
    assert report.problems[0]["code"] == "unknown-owner"
    system = Entity.objects.get(kind="System")
    assert system.team is None and system.owner_ref == "group:default/nobody"
    assert system.problems[0]["code"] == "unknown-owner"

    # The team appears later: the owner resolves, the flag goes.
    idp_services.create_team("nobody")
    sync_platform_entities()
    system.refresh_from_db()
    assert system.team.slug == "nobody"
    assert all(p["code"] != "unknown-owner" for p in system.problems)


def test_another_team_cannot_import_entities_owned_by_payments(
    carol: Any, alice: Any, bob: Any, teams: dict[str, Any], make_user: Any
) -> None:
    refused = import_entities(SHOP, actor=carol)
    assert [e.document for e in refused.refused] == [1, 2, 3, 4, 5]
    assert "team payments" in refused.refused[0].message
    # A member (not maintainer) of payments cannot either.
    assert import_entities(SHOP, actor=alice).refused
    assert not Entity.objects.exclude(kind="Group").exists()

    # Nor may a maintainer of search take over payments' entity by naming search the owner.
    sam = make_user("sam", team=teams["search"], role="maintainer")
    import_entities(SHOP, actor=bob)
    hijack = SHOP.split("---\n")[1].replace("owner: payments", "owner: search")
    report = import_entities(hijack, actor=sam)
    assert "team payments" in report.refused[0].message
    assert Entity.objects.get(name="orders").team.slug == "payments"


def test_a_component_named_like_another_teams_service_needs_its_maintainer(
    bob: Any, carol: Any, teams: dict[str, Any], make_user: Any
) -> None:
    maintainer = make_user("sam", team=teams["search"], role="maintainer")
    create_service(actor=bob, team=teams["payments"], name="Orders", slug="orders")
    doc = SHOP.split("---\n")[1].replace("owner: payments", "owner: search")

    report = import_entities(doc, actor=maintainer)

    assert "team payments" in report.refused[0].message
    assert not Entity.objects.filter(kind="Component").exists()


def test_platform_facts_are_entities_and_the_sync_is_idempotent(
    bob: Any, alice: Any, carol: Any, teams: dict[str, Any]
) -> None:
    service = create_service(
        actor=bob,
        team=teams["payments"],
        name="Orders service",
        slug="orders",
        description="Takes orders.",
        repository_url="https://github.com/acme/orders",
        tags=["Python"],
        links=[{"title": "Runbook", "url": "https://runbook.example.com"}],
        lifecycle="production",
    )

    first = sync_platform_entities()

    assert "group:default/payments" in first.created + first.changed
    assert "component:default/orders" in first.created
    assert {"user:default/alice", "user:default/bob", "user:default/carol"} <= set(first.created)
    orders = Entity.objects.get(kind="Component", name="orders")
    assert orders.service == service and orders.team == teams["payments"]
    assert orders.spec == {
        "type": "service",
        "lifecycle": "production",
        "owner": "group:default/payments",
    }
    assert orders.tags == ["python"]
    assert orders.annotations["github.com/project-slug"] == "acme/orders"
    assert ("memberOf", "group:default/payments") in rels("user:default/alice")
    assert ("hasMember", "user:default/alice") in rels("group:default/payments")
    assert ("ownerOf", "component:default/orders") in rels("group:default/payments")

    second = sync_platform_entities()
    assert second.created == second.changed == second.deleted == []

    # An imported catalog-info.yaml for the service enriches its Component.
    import_entities(SHOP, actor=bob)
    orders.refresh_from_db()
    assert orders.service == service
    assert orders.spec["system"] == "shop"
    assert orders.title == "Orders service" and orders.description == "Takes orders."
    assert {link["url"] for link in orders.links} == {
        "https://orders.example.com",
        "https://runbook.example.com",
    }
    assert Entity.objects.filter(kind="Component", name="orders").count() == 1
    third = sync_platform_entities()
    assert third.created == third.changed == third.deleted == []


def test_members_leaving_and_archived_services_leave_the_catalog(
    bob: Any, alice: Any, teams: dict[str, Any]
) -> None:
    service = create_service(actor=bob, team=teams["payments"], name="Ledger", slug="ledger")
    sync_platform_entities()
    idp_services.remove_membership(teams["payments"], alice)
    service.archived = True
    service.save()

    report = sync_platform_entities()

    assert set(report.deleted) == {"user:default/alice", "component:default/ledger"}


@pytest.fixture
def provisioned(teams: dict[str, Any], bob: Any) -> Any:
    """A provisioned resource of payments, used by its service orders."""

    from catalog.models import Template, TemplateVersion
    from idp.services import upsert_environment
    from provisioning.models import Resource

    env = upsert_environment("prod", name="Production", order=30)
    template = Template.objects.create(slug="s3-bucket", title="S3 bucket")
    version = TemplateVersion.objects.create(template=template, number=1, content_hash="x")
    service = create_service(actor=bob, team=teams["payments"], name="Orders", slug="orders")
    return Resource.objects.create(
        team=teams["payments"],
        service=service,
        template=template,
        template_version=version,
        environment=env,
        name="db",
        status="applying",
    )


def test_provisioned_resources_become_entities_through_the_lifecycle(
    provisioned: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    from provisioning import lifecycle
    from provisioning.choices import ResourceEvent, ResourceStatus

    sync_platform_entities()
    assert not Entity.objects.filter(kind="Resource").exists()  # not provisioned yet

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(
            provisioned,
            ResourceStatus.PROVISIONED,
            ResourceEvent.APPLIED,
            fields={"provisioned_at": timezone.now()},
        )

    entity = Entity.objects.get(kind="Resource")
    assert entity.name == "payments-prod-db"
    assert entity.platform_ref == f"resource:{provisioned.pk}"
    assert entity.origin == EntityOrigin.PLATFORM and entity.team.slug == "payments"
    assert entity.spec == {
        "type": "s3-bucket",
        "owner": "group:default/payments",
        "dependencyOf": ["component:default/orders"],
    }
    assert ("dependsOn", entity.ref) in rels("component:default/orders")
    assert ("dependencyOf", "component:default/orders") in rels(entity.ref)
    assert sync_platform_entities().changed == []

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(
            provisioned, ResourceStatus.DESTROYING, ResourceEvent.DESTROY_REQUESTED
        )
        lifecycle.transition(provisioned, ResourceStatus.DESTROYED, ResourceEvent.DESTROYED)

    assert not Entity.objects.filter(kind="Resource").exists()
    assert ("dependsOn", entity.ref) not in rels("component:default/orders")


def test_platform_resources_are_visible_to_their_team_only(
    provisioned: Any, bob: Any, carol: Any, platform_admin: Any
) -> None:
    from django.utils import timezone

    provisioned.status = "provisioned"
    provisioned.provisioned_at = timezone.now()
    provisioned.save()
    sync_platform_entities()
    import_entities(SHOP, actor=bob)

    assert get_entity(bob, "resource", "default", "payments-prod-db") is not None
    assert get_entity(platform_admin, "Resource", "default", "payments-prod-db") is not None
    assert get_entity(carol, "resource", "default", "payments-prod-db") is None
    assert not visible_entities(carol).filter(name="payments-prod-db").exists()
    # Imported resources are the shared map: everyone reads them.
    assert get_entity(carol, "resource", "default", "orders-db") is not None
    # The component's dependency on it is not shown to another team either.
    for_bob = entity_document(get_entity(bob, "component", "default", "orders"))
    for_carol = entity_document(get_entity(carol, "component", "default", "orders"))
    dep = {"type": "dependsOn", "targetRef": "resource:default/payments-prod-db"}
    assert dep in for_bob["relations"]
    assert dep not in for_carol["relations"]
    assert {"type": "dependsOn", "targetRef": "resource:default/orders-db"} in for_carol[
        "relations"
    ]
    # A preview does not tell another team the resource exists: it is a missing target.
    doc = (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: crawler}\n"
        "spec: {type: service, lifecycle: production, owner: search,\n"
        "  dependsOn: [resource:payments-prod-db, resource:orders-db]}\n"
    )
    preview = import_entities(doc, actor=carol, dry_run=True)
    missing = {p["ref"] for p in preview.problems if p["code"] == "dangling-ref"}
    assert missing == {"resource:default/payments-prod-db"}
    # Nor may anyone import over it.
    clash = (
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: "
        "payments-prod-db}\nspec: {type: x, owner: payments}\n"
    )
    assert import_entities(clash, actor=bob).refused[0].message.endswith("change it there")
    assert import_entities(clash, actor=carol).refused[0].message == (
        "you may not write resource:default/payments-prod-db"
    )


def test_forbidden_is_not_raised_but_reported(carol: Any) -> None:
    # The service reports refusals; surfaces answer 403 (tests/catalog/test_entities_api.py).
    report = import_entities(SHOP, actor=carol)
    assert not report.written and isinstance(report.refused, list)
    assert issubclass(Forbidden, Exception)


# --- the portal's import page --------------------------------------------------------------


def test_portal_preview_then_import(client_as: Any, bob: Any) -> None:
    client = client_as(bob)
    assert client.get("/catalog/import/").status_code == 200

    preview = client.post("/catalog/import/", {"content": SHOP, "preview": "1"})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "component:default/orders" in page and "Preview" in page
    assert not Entity.objects.filter(kind="Component").exists()

    done = client.post("/catalog/import/", {"content": SHOP, "import": "1"}, follow=True)
    assert done.status_code == 200
    assert "Imported: 5 created, 0 changed, 0 unchanged." in done.content.decode()
    assert Entity.objects.filter(kind="Component").count() == 2


def test_portal_upload_shows_errors_and_refusals(client_as: Any, carol: Any, bob: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_as(carol)
    upload = SimpleUploadedFile("catalog-info.yaml", SHOP.encode())
    refused = client.post("/catalog/import/", {"file": upload, "import": "1"})
    assert refused.status_code == 403
    assert "you may not write entities of team payments" in refused.content.decode()
    assert not Entity.objects.filter(kind="Component").exists()

    broken = client_as(bob).post(
        "/catalog/import/",
        {"content": SHOP.replace("  lifecycle: experimental\n", ""), "preview": "1"},
    )
    assert broken.status_code == 400
    assert "document 4 (component:default/checkout), spec.lifecycle: required" in (
        broken.content.decode()
    )

    empty = client_as(bob).post("/catalog/import/", {"content": "  ", "import": "1"})
    assert empty.status_code == 400
    assert "Paste a catalog-info.yaml" in empty.content.decode()


def test_portal_import_needs_sign_in(client: Any) -> None:
    response = client.post("/catalog/import/", {"content": SHOP, "import": "1"})
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    assert not Entity.objects.exists()


def test_hooks_keep_teams_members_and_services_current(
    bob: Any, teams: dict[str, Any], make_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        team = idp_services.create_team("ledger", name="Ledger team")
        make_user("lena", team=team, role="maintainer")
        create_service(actor=None, team=team, name="Books", slug="books")

    assert Entity.objects.get(kind="Group", name="ledger").title == "Ledger team"
    assert ("memberOf", "group:default/ledger") in rels("user:default/lena")
    assert ("ownedBy", "group:default/ledger") in rels("component:default/books")

    from catalog.software.services.components import archive_service

    with django_capture_on_commit_callbacks(execute=True):
        archive_service(Entity.objects.get(name="books").service, actor=None)

    assert not Entity.objects.filter(kind="Component", name="books").exists()


def test_management_command_syncs_and_is_idempotent(bob: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sync_catalog_entities", stdout=out)
    assert "created user:default/bob" in out.getvalue()
    out = StringIO()
    call_command("sync_catalog_entities", stdout=out)
    assert out.getvalue().strip() == "0 created, 0 changed, 0 deleted"
