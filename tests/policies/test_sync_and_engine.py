"""Policies load like templates (versioned, broken ones reported with file and line) and are
evaluated fail-closed: a policy that cannot run is a failure, never a silent pass."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from idp.models import AuditEvent
from policies.choices import AuditAction, Enforcement, Level
from policies.engine import PolicyError, evaluate
from policies.loader import parse_policy
from policies.models import Policy
from policies.services import evaluate_document, sync_policies

GOOD = """# METADATA
# title: No big replicas
# custom:
#   enforcement: {enforcement}
#   environments: [prod]
package idp.extra_{name}

import rego.v1

deny contains msg if {{
	input.idp.replicas > {limit}
	msg := sprintf("replicas %d over {limit}", [input.idp.replicas])
}}

warn contains "think twice" if input.idp.replicas > 2
"""


def write(folder: Path, name: str, *, limit: int = 5, enforcement: str = "mandatory") -> Path:
    path = folder / f"{name}.rego"
    path.write_text(GOOD.format(name=name, limit=limit, enforcement=enforcement))
    return path


@pytest.fixture
def extra(tmp_path: Path, settings: Any) -> Path:
    settings.IDP_POLICY_DIRS = [str(tmp_path)]
    return tmp_path


def test_a_syntax_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.rego"
    path.write_text("package idp.broken\nimport rego.v1\n\ndeny contains m if {\n  m := \n}\n")
    with pytest.raises(PolicyError, match=r"^broken\.rego:5: Invalid assignment operator"):
        parse_policy(path)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("package other.x\n", r"broken\.rego:1: package other\.x is outside the namespace idp"),
        ("# nothing\n", r"broken\.rego:1: no `package` line"),
        (
            "# METADATA\n# custom:\n#   enforcement: strict\npackage idp.x\n",
            r"enforcement 'strict' is not one of advisory, mandatory, mandatory-overridable",
        ),
        (
            "# METADATA\n# custom:\n#   environments: 5\npackage idp.x\n",
            r"custom\.environments must be a list",
        ),
    ],
)
def test_bad_declarations_are_refused(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "broken.rego"
    path.write_text(text)
    with pytest.raises(PolicyError, match=error):
        parse_policy(path)


def test_an_error_while_evaluating_is_a_failure_not_a_pass() -> None:
    source = "package idp.x\nimport rego.v1\ndeny contains m if {\n  m := no_such_function(1)\n}\n"
    findings = evaluate(slug="x", version=1, package="idp.x", source=source, document={})
    assert [(f.level, f.rule) for f in findings] == [(Level.FAILURE, "error")]
    assert "Function not found: no_such_function" in findings[0].message


def test_a_computed_string_in_sprintf_is_read_back() -> None:
    # rego-cpp puts a computed string into sprintf with its quotes; the answer still reads.
    source = (
        'package idp.x\nimport rego.v1\ndeny contains sprintf("tags %s", [concat(",", ["a", "b"])])'
        " if true\n"
    )
    findings = evaluate(slug="x", version=1, package="idp.x", source=source, document={})
    assert [f.message for f in findings] == ['tags "a,b"']


@pytest.mark.django_db
def test_sync_versions_policies_by_content(extra: Path) -> None:
    write(extra, "replicas")
    first = sync_policies()
    assert first.ok, first.failed
    assert "replicas" in first.created and "required_tags" in first.loaded
    policy = Policy.objects.get(slug="replicas")
    assert (policy.enforcement, policy.environments, policy.origin) == (
        Enforcement.MANDATORY,
        ["prod"],
        "extra",
    )
    assert policy.current_version is not None and policy.current_version.number == 1

    again = sync_policies()
    assert "replicas" in again.unchanged and not again.created

    write(extra, "replicas", limit=3)
    changed = sync_policies()
    policy.refresh_from_db()
    assert changed.created == ["replicas"]
    assert policy.current_version is not None and policy.current_version.number == 2
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.POLICY_VERSION_CREATED, target_id=str(policy.pk)
        ).count()
        == 2
    )

    (extra / "replicas.rego").unlink()
    gone = sync_policies()
    assert gone.removed == ["replicas"]
    assert Policy.objects.get(slug="replicas").removed


@pytest.mark.django_db
def test_a_broken_policy_is_listed_and_fails_the_plans_it_covers(extra: Path) -> None:
    write(extra, "replicas")
    sync_policies()
    (extra / "replicas.rego").write_text("package idp.extra_replicas\ndeny contains if {\n")
    report = sync_policies()
    assert "replicas" in report.failed and "replicas.rego:" in report.failed["replicas"]
    policy = Policy.objects.get(slug="replicas")
    assert policy.sync_error == report.failed["replicas"]
    assert AuditEvent.objects.filter(action=AuditAction.POLICY_BROKEN).exists()

    result = evaluate_document(
        {"resource_changes": [], "idp": {"replicas": 1}},
        environment="prod",
        template="example-config",
        team="payments",
    ).as_json()
    broken = [r for r in result["results"] if r["policy"] == "replicas"]
    assert [(r["level"], r["rule"]) for r in broken] == [(Level.FAILURE, "error")]
    assert "does not load" in broken[0]["message"]
    assert result["blocking"] >= 1


@pytest.mark.django_db
def test_scope_enforcement_and_advisory_warnings(extra: Path) -> None:
    write(extra, "hard", limit=5)
    write(extra, "soft", limit=5, enforcement="advisory")
    write(extra, "override", limit=5, enforcement="mandatory-overridable")
    sync_policies()
    document = {"resource_changes": [], "idp": {"replicas": 9}}

    in_dev = evaluate_document(document, environment="dev", template="x", team="t").as_json()
    assert not any(r["policy"] in ("hard", "soft", "override") for r in in_dev["results"])

    in_prod = evaluate_document(document, environment="prod", template="x", team="t")
    mine = {
        (r["policy"], r["level"], r["rule"])
        for r in in_prod.as_json()["results"]
        if r["policy"] in ("hard", "soft", "override")
    }
    assert mine == {
        ("hard", Level.FAILURE, "deny"),
        ("hard", Level.WARNING, "warn"),
        ("soft", Level.WARNING, "deny"),  # advisory: shown, never blocks
        ("soft", Level.WARNING, "warn"),
        ("override", Level.FAILURE, "deny"),
        ("override", Level.WARNING, "warn"),
    }
    blocking = {p.slug for p, _, _ in in_prod.blocking}
    assert {"hard", "override"} <= blocking and "soft" not in blocking
    assert not in_prod.overridable  # "hard" cannot be overridden

    (extra / "hard.rego").unlink()
    sync_policies()
    only_overridable = evaluate_document(document, environment="prod", template="x", team="t")
    extra_blocking = [p.slug for p, _, _ in only_overridable.blocking if p.origin == "extra"]
    assert extra_blocking == ["override"]


def test_the_test_policy_command_tries_a_policy_on_a_plan(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    plans = Path(__file__).parent / "plans"
    shipped = Path(__file__).resolve().parents[2] / "policies" / "rego" / "example_replicas.rego"
    context = '{"environment": "prod"}'
    out = StringIO()
    call_command(
        "test_policy",
        str(shipped),
        str(plans / "example_replicas_5.json"),
        context=context,
        stdout=out,
    )
    assert out.getvalue().startswith("PASSED")
    out = StringIO()
    with pytest.raises(CommandError, match="example_replicas fails this plan"):
        call_command(
            "test_policy",
            str(shipped),
            str(plans / "example_replicas_7.json"),
            context=context,
            stdout=out,
        )
    assert "FAILURE  deny [terraform_data.config] terraform_data.config asks for 7" in (
        out.getvalue()
    )
    broken = tmp_path / "broken.rego"
    broken.write_text("package idp.broken\nimport rego.v1\ndeny contains m if {\n")
    with pytest.raises(CommandError, match=r"broken\.rego:"):
        call_command("test_policy", str(broken), str(plans / "example_replicas_7.json"))
    with pytest.raises(CommandError, match="cannot read the plan"):
        call_command("test_policy", str(shipped), str(tmp_path / "missing.json"))


def test_policies_evaluated_together_keep_their_errors_to_themselves() -> None:
    from policies.engine import Source, evaluate_all

    good = Source(
        "good", 1, "idp.good", 'package idp.good\nimport rego.v1\ndeny contains "no" if input.x\n'
    )
    bad = Source(
        "bad",
        1,
        "idp.bad",
        "package idp.bad\nimport rego.v1\ndeny contains m if {\n  m := nope(1)\n}\n",
    )
    broken = Source("broken", 1, "idp.broken", "package idp.broken\ndeny contains if {\n")
    twin = Source(
        "twin", 1, "idp.good", 'package idp.good\nimport rego.v1\nwarn contains "w" if true\n'
    )
    found = evaluate_all([good, bad, broken, twin], {"x": True})
    assert [(f.level, f.message) for f in found["good"]] == [("failure", "no")]
    assert [f.rule for f in found["bad"]] == ["error"]
    assert "Function not found: nope" in found["bad"][0].message
    assert [f.rule for f in found["broken"]] == ["error"]
    # Sharing a package, each is judged alone: the twin's warning is its own.
    assert [(f.level, f.message) for f in found["twin"]] == [("warning", "w")]
