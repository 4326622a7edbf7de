"""The request form's live cost estimate, money in one format, and the template page's links."""

from __future__ import annotations

from typing import Any

from idp.models import Role

URL = "/catalog/templates/example-config/estimate/"


def test_estimate_follows_the_parameters(synced: Any, client_as: Any, alice: Any) -> None:
    client = client_as(alice)
    # example-config: $1.50 per replica-month (template.yaml cost hints).
    four = client.post(URL, {"p-replicas": "4", "p-message": "hi"})
    assert four.status_code == 200
    assert '<strong class="estimate-amount">$6.00</strong> / month' in four.content.decode()
    assert 'id="estimate"' in four.content.decode()
    ten = client.post(URL + "?version=1", {"p-replicas": "10"}).content.decode()
    assert "$15.00" in ten
    # A value that does not parse yet prices the default, instead of failing the form.
    typing = client.post(URL, {"p-replicas": "4x"}).content.decode()
    assert "$1.50" in typing


def test_estimate_endpoint_refuses_what_it_should(
    synced: Any, client: Any, client_as: Any, alice: Any
) -> None:
    assert client.post(URL, {"p-replicas": "4"}).status_code == 302  # signed out → sign in
    signed_in = client_as(alice)
    assert signed_in.get(URL).status_code == 405
    assert signed_in.post("/catalog/templates/nope/estimate/").status_code == 404
    assert signed_in.post(URL + "?version=9", {"p-replicas": "4"}).status_code == 404


def test_request_form_asks_for_the_estimate_without_secrets(
    synced: Any, environments: Any, client_as: Any, alice: Any
) -> None:
    page = client_as(alice).get("/catalog/templates/example-config/request/").content.decode()
    assert f'hx-post="{URL}?version=1"' in page
    assert 'hx-params="not csrfmiddlewaretoken,p-secret_token"' in page
    assert '<strong class="estimate-amount">$1.50</strong>' in page


def test_template_page_links_the_owner_only_for_those_who_see_it(
    synced: Any, client_as: Any, alice: Any, make_user: Any, make_team: Any
) -> None:
    page = client_as(alice).get("/catalog/templates/example-config/").content.decode()
    owner = page.split("<dt>Owner</dt>")[1].split("</dd>")[0]
    assert "Platform" in owner and "<a " not in owner
    assert client_as(alice).get("/teams/platform/").status_code == 404  # the link would be dead
    operator = make_user("olga", team=make_team("platform"), role=Role.MEMBER)
    page = client_as(operator).get("/catalog/templates/example-config/").content.decode()
    owner = page.split("<dt>Owner</dt>")[1].split("</dd>")[0]
    assert '<a href="/teams/platform/">Platform</a>' in owner


def test_template_page_shows_rules_in_words_and_json_defaults(
    synced: Any, client_as: Any, alice: Any
) -> None:
    page = client_as(alice).get("/catalog/templates/example-config/").content.decode()
    assert "Use letters, digits, spaces and , . ! ? - (at most 100)" in page
    assert "From 1 to 10" in page
    assert "^[A-Za-z0-9" not in page
    assert '<code class="value">{}</code>' in page  # labels default: JSON, not a Python repr
    assert "$0.00" in page and "USD" not in page


def test_unit_prices_keep_sub_cent_digits(synced: Any, client_as: Any, alice: Any) -> None:
    example = client_as(alice).get("/catalog/templates/example-config/").content.decode()
    assert "plus $1.50 per replica-month (<code>replicas</code>)" in example
    s3 = client_as(alice).get("/catalog/templates/s3-bucket/").content.decode()
    assert "plus $0.023 per GB-month" in s3


def test_estimate_of_a_module_the_catalog_prices_follows_the_instance_class(
    synced: Any, client_as: Any, alice: Any
) -> None:
    from monitoring.services import pricing

    pricing.seed_shipped("us-east-1")
    url = "/catalog/templates/rds-postgres/estimate/"
    client = client_as(alice)
    small = client.post(
        url, {"p-instance_class": "db.t4g.micro", "p-allocated_storage_gb": "50"}
    ).content.decode()
    large = client.post(
        url, {"p-instance_class": "db.m7g.large", "p-allocated_storage_gb": "50"}
    ).content.decode()
    # 0.016 × 730 h + 50 GB × 0.115 and 0.168 × 730 h + 50 GB × 0.115: the catalog's prices.
    assert '<strong class="estimate-amount">$17.43</strong>' in small
    assert '<strong class="estimate-amount">$128.39</strong>' in large
    assert "price catalog of 2026-11-01" in large and "db.m7g.large" in large
