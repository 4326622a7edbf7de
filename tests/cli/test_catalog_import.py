"""`idp catalog import FILE [--dry-run]` and `idp catalog entities` against a live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import Entity
from tests.catalog.entity_docs import SHOP

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog-info.yaml"
    path.write_text(SHOP)
    return path


def test_import_prints_one_line_per_entity(
    cli: Any, token_for: Any, bob: Any, shop_file: Path
) -> None:
    token = token_for(bob)

    preview = cli("catalog", "import", str(shop_file), "--dry-run", token=token)
    assert preview.exit_code == 0, preview.output
    assert "would create component:default/orders" in preview.stdout.splitlines()
    assert not Entity.objects.filter(kind="Component").exists()

    result = cli("catalog", "import", str(shop_file), token=token)
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.splitlines()) == sorted(
        [
            "created system:default/shop",
            "created component:default/orders",
            "created api:default/orders-api",
            "created component:default/checkout",
            "created resource:default/orders-db",
        ]
    )

    shop_file.write_text(SHOP.replace("Takes orders.", "Takes all orders."))
    again = cli("catalog", "import", str(shop_file), token=token)
    assert "changed component:default/orders" in again.stdout.splitlines()
    assert "unchanged api:default/orders-api" in again.stdout.splitlines()

    listed = cli("catalog", "entities", "--kind", "component", "--owner", "payments", token=token)
    assert listed.exit_code == 0, listed.output
    assert "component:default/checkout" in listed.stdout
    assert "component:default/orders" in listed.stdout
    assert "api:default/orders-api" not in listed.stdout


def test_invalid_documents_are_one_error_line_each(
    cli: Any, token_for: Any, bob: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        SHOP.replace("  type: database\n", "").replace("name: checkout", "name: check out")
    )

    result = cli("catalog", "import", str(path), token=token_for(bob))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: document 4 (component:default/check out), metadata.name: 'check out': use "
        "letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        "error: document 5 (resource:default/orders-db), spec.type: required",
    ]
    assert not Entity.objects.filter(kind="Component").exists()


def test_another_team_is_refused(cli: Any, token_for: Any, carol: Any, shop_file: Path) -> None:
    result = cli("catalog", "import", str(shop_file), token=token_for(carol))

    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("error: document 1 (system:default/shop): you may not write")
    assert not Entity.objects.filter(kind="System").exists()


def test_a_missing_file_is_a_usage_error(cli: Any, token_for: Any, bob: Any) -> None:
    result = cli("catalog", "import", "/nonexistent/catalog-info.yaml", token=token_for(bob))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read")
