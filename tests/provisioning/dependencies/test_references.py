"""A parameter that takes another resource's output: what a request or a change may name,
how it is kept, and what the engine and the destroy rule learn from it (no Terraform here;
tests/provisioning/dependencies/test_end_to_end.py runs it for real)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from catalog.services import parse_template
from catalog.services.loader import TemplateError, read_files
from idp.services import ServiceError
from provisioning import actions
from provisioning.actions import dependencies
from provisioning.models import Resource, ResourceDependency, Run
from tests.utils import assert_error, assert_ok

from .conftest import MODULES, ask

pytestmark = pytest.mark.django_db


def refusal(error: ServiceError) -> str:
    """The first message the action gave the `subnet_ids` parameter."""
    assert error.errors is not None, error
    return error.errors["parameters.subnet_ids"][0]


def subnets(resource: Any) -> dict[str, Any]:
    return {"subnet_ids": {"resource": resource}}


def test_the_loader_marks_the_parameter_and_refuses_a_bad_refinement() -> None:
    files = read_files(MODULES / "app-fixture")
    parsed = parse_template("app-fixture", files)
    prop = parsed.parameters_schema["properties"]["subnet_ids"]
    assert prop["x-idp-resource-ref"] == {
        "template": "net-fixture",
        "output": "subnet_ids",
        "literal": True,
    }
    for bad, words in (
        ("{template: net-fixture}", "output"),
        ("{template: Not A Slug, output: x}", "template"),
        ("{template: net-fixture, output: x, literal: maybe}", "literal"),
        ("{template: net-fixture, output: x, colour: red}", "unknown from_resource keys"),
    ):
        text = files["template.yaml"].replace("{template: net-fixture, output: subnet_ids}", bad)
        with pytest.raises(TemplateError) as err:
            parse_template("app-fixture", {**files, "template.yaml": text})
        assert err.value.file == "template.yaml" and err.value.line == 4
        assert words in err.value.message and "subnet_ids" in err.value.message
    # A secret is never passed on: a sensitive variable cannot take an output.
    variables = files["variables.tf"].replace(
        "type        = list(string)", "type        = list(string)\n  sensitive   = true"
    )
    with pytest.raises(TemplateError) as err:
        parse_template("app-fixture", {**files, "variables.tf": variables})
    assert "sensitive" in err.value.message and err.value.line == 4


def test_a_reference_by_name_is_kept_by_id_with_its_row(alice, teams, envs, app) -> None:
    net = ask(alice, "net-fixture", "main", {"prefix": "one"})
    dependant = ask(alice, "app-fixture", "web", subnets("main"))

    ref = {"resource": net.pk, "name": "main", "output": "subnet_ids"}
    assert dependant.parameters == {"subnet_ids": ref, "label": "app"}
    row = ResourceDependency.objects.get(dependant=dependant)
    assert (row.upstream_id, row.parameter, row.output, row.value_digest) == (
        net.pk,
        "subnet_ids",
        "subnet_ids",
        "",
    )
    # The first plan carries the reference; it waits while the upstream is not applied.
    plan = Run.objects.get(resource=dependant)
    assert plan.parameters["subnet_ids"] == ref
    assert dependencies.waiting_for(plan) == [net]
    # By id works the same (in the dependant's environment: another one is refused unless
    # the template allows it, tests/security/test_four_eyes_dependencies.py).
    other = ask(alice, "app-fixture", "worker", subnets(net.pk))
    assert other.parameters["subnet_ids"]["resource"] == net.pk
    assert [d.name for d in dependencies.live_dependants(net)] == ["web", "worker"]


def test_a_literal_value_still_works(alice, teams, envs, app) -> None:
    resource = ask(alice, "app-fixture", "web", {"subnet_ids": ["subnet-a", "subnet-b"]})
    assert resource.parameters["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert not ResourceDependency.objects.exists()
    assert dependencies.waiting_for(Run.objects.get(resource=resource)) == []


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("nothing-here", "Unknown resource 'nothing-here' of team payments in dev"),
        ("prod-net", "Unknown resource 'prod-net'"),  # a name is looked up in the same env
        ("theirs", "Unknown resource"),  # another team's reads as unknown
        ("a-literal-app", "is a app-fixture resource"),
        ({"resource": "main", "output": "network_id"}, "takes the subnet_ids output"),
        (None, "Name the resource by id or name"),
    ],
)
def test_a_bad_reference_is_a_field_error_and_nothing_is_made(
    alice, carol, teams, envs, app, reference, words
) -> None:
    ask(alice, "net-fixture", "main", {"prefix": "one"})
    ask(alice, "net-fixture", "prod-net", {"prefix": "two"}, environment="prod")
    ask(carol, "net-fixture", "theirs", {"prefix": "three"}, team="search")
    ask(alice, "app-fixture", "a-literal-app", {"subnet_ids": ["a", "b"]})
    if isinstance(reference, str) and reference == "theirs":
        reference = Resource.objects.get(name="theirs").pk
    value = reference if isinstance(reference, dict) else {"resource": reference}
    before = Resource.objects.count()
    with pytest.raises(ServiceError) as err:
        # A bad name at the same time: every refusal is reported at once.
        ask(alice, "app-fixture", "Bad Name", {"subnet_ids": value})
    assert err.value.status == 400
    detail = err.value.detail
    assert isinstance(detail, dict) and "name" in detail, detail
    assert any(words in m for m in detail["parameters.subnet_ids"]), detail
    assert Resource.objects.count() == before
    assert not ResourceDependency.objects.exists()


def test_sensitive_outputs_and_forbidden_literals(alice, teams, envs, app) -> None:
    ask(alice, "net-fixture", "main", {"prefix": "one"})
    schema = copy.deepcopy(app.parameters_schema)  # the loader's cached copy stays as it is
    ref = schema["properties"]["subnet_ids"]["x-idp-resource-ref"]
    ref.update(output="token", literal=False)
    type(app).objects.filter(pk=app.pk).update(parameters_schema=schema)

    with pytest.raises(ServiceError) as err:
        ask(alice, "app-fixture", "web", subnets("main"))
    assert "sensitive" in refusal(err.value)
    with pytest.raises(ServiceError) as err:
        ask(alice, "app-fixture", "web", {"subnet_ids": ["a", "b"]})
    assert "Choose one of your team's net-fixture resources" in str(err.value.detail)


def test_the_api_takes_a_reference_and_names_the_parameter_it_refuses(
    alice, teams, envs, app, api_as
) -> None:
    net = ask(alice, "net-fixture", "main", {"prefix": "one"})
    body = {"template": "app-fixture", "team": "payments", "environment": "dev", "name": "web"}
    refused = api_as(alice).post(
        "/api/v1/resources/", {**body, "parameters": subnets("nope")}, format="json"
    )
    assert_error(refused, 400, "parameters.subnet_ids")
    made = assert_ok(
        api_as(alice).post(
            "/api/v1/resources/", {**body, "parameters": subnets("main")}, format="json"
        ),
        201,
    )
    assert made["parameters"]["subnet_ids"] == {
        "resource": net.pk,
        "name": "main",
        "output": "subnet_ids",
    }


def test_the_portal_form_offers_the_teams_resources_of_the_template(
    alice, carol, teams, envs, app, client_as
) -> None:
    net = ask(alice, "net-fixture", "main", {"prefix": "one"})
    ask(carol, "net-fixture", "theirs", {"prefix": "two"}, team="search")
    client = client_as(alice)
    page = client.get("/catalog/templates/app-fixture/request/").content.decode()
    select = re.search(r'<select name="p-subnet_ids__resource".*?</select>', page, re.S)
    assert select, page
    assert f'<option value="{net.pk}">main (payments, dev)</option>' in select.group(0)
    assert "theirs" not in page  # another team's resources are never offered
    assert 'name="p-subnet_ids"' in page  # a literal value may still be typed

    response = client.post(
        "/catalog/templates/app-fixture/request/",
        {
            "team": "payments",
            "environment": "dev",
            "name": "web",
            "p-subnet_ids__resource": str(net.pk),
            "p-label": "x",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    web = Resource.objects.get(name="web")
    assert web.parameters["subnet_ids"]["resource"] == net.pk
    # The change form shows the chosen resource selected.
    page = client.get(f"/resources/{web.pk}/parameters/").content.decode()
    assert re.search(rf'<option value="{net.pk}" selected>main', page), page
    # Both resource pages name the link.
    page = client.get(web.get_absolute_url()).content.decode()
    assert (
        "parameter <code>subnet_ids</code> ←" in page and f'href="{net.get_absolute_url()}"' in page
    )
    page = client.get(net.get_absolute_url()).content.decode()
    assert "takes output <code>subnet_ids</code> as <code>subnet_ids</code>" in page


def test_destroy_order_puts_dependants_first(alice, teams, envs, app) -> None:
    net = ask(alice, "net-fixture", "main", {"prefix": "one"})
    web = ask(alice, "app-fixture", "web", subnets("main"))
    other = ask(alice, "net-fixture", "other", {"prefix": "two"})
    layers = dependencies.destroy_order([net, other, web])
    assert [[r.name for r in layer] for layer in layers] == [["web", "other"], ["main"]]


def test_a_change_rebinds_and_refuses_itself_and_cycles(alice, teams, envs, app) -> None:
    # The app template made to take the output of another app resource (a chain).
    schema = copy.deepcopy(app.parameters_schema)
    schema["properties"]["subnet_ids"]["x-idp-resource-ref"].update(
        template="app-fixture", output="subnets"
    )
    type(app).objects.filter(pk=app.pk).update(parameters_schema=schema)
    first = ask(alice, "app-fixture", "first", {"subnet_ids": ["a", "b"]})
    second = ask(alice, "app-fixture", "second", subnets("first"))
    assert dependencies.upstreams_of(second.pk) == {first.pk}
    # Changes need an idle resource: pretend both first plans ended (no Terraform here).
    Run.objects.update(status="cancelled")
    Resource.objects.update(status="failed")

    with pytest.raises(ServiceError) as err:
        actions.change_parameters(first, subnets("first"), actor=alice)
    assert "from itself" in refusal(err.value)
    with pytest.raises(ServiceError) as err:
        actions.change_parameters(first, subnets("second"), actor=alice)
    assert "cycle" in refusal(err.value)
    assert not ResourceDependency.objects.filter(dependant=first).exists()

    # A change to a literal value drops the row; the proposal's plan carries the value.
    run = actions.change_parameters(second, {"subnet_ids": ["x", "y"]}, actor=alice).run
    assert run.parameters["subnet_ids"] == ["x", "y"]
    assert not ResourceDependency.objects.filter(dependant=second).exists()


def test_a_template_that_takes_only_a_resource_shows_only_the_select(
    alice, teams, envs, app, client_as
) -> None:
    net = ask(alice, "net-fixture", "main", {"prefix": "one"})
    schema = copy.deepcopy(app.parameters_schema)
    schema["properties"]["subnet_ids"]["x-idp-resource-ref"]["literal"] = False
    type(app).objects.filter(pk=app.pk).update(parameters_schema=schema)
    client = client_as(alice)
    page = client.get("/catalog/templates/app-fixture/request/").content.decode()
    assert re.search(r'<select name="p-subnet_ids" [^>]*required', page), page
    assert "p-subnet_ids__resource" not in page and "<textarea" not in page

    form = {"team": "payments", "environment": "dev", "name": "web", "p-label": "x"}
    refused = client.post("/catalog/templates/app-fixture/request/", form)
    assert refused.status_code == 400
    field = refused.content.decode().split('id="field-p-subnet_ids"')[1].split('class="field"')[0]
    assert "required" in field.lower(), field
    made = client.post(
        "/catalog/templates/app-fixture/request/", {**form, "p-subnet_ids": str(net.pk)}
    )
    assert made.status_code == 302
    assert Resource.objects.get(name="web").parameters["subnet_ids"]["resource"] == net.pk
