"""Token scopes have one home (`idp/scopes.py`): its rules, and a scan that no other module
decides a scope on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from idp import scopes
from idp.models import APIToken
from idp.scopes import ADMIN, APPROVE, READ, SCIM, WRITE, ScopeRefused, TokenScope

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "idp", "catalog", "provisioning", "pipelines", "monitoring", "policies", "fleet")


def _token(username: str, held: list[str]) -> APIToken:
    return APIToken(user=get_user_model()(username=username), scopes=held)


def test_no_scope_implies_another_and_write_never_approves() -> None:
    for scope in TokenScope.values:
        assert scopes.granted_by([scope]) == {scope}
    writer = _token("alice", [READ, WRITE])
    assert scopes.token_allows(writer, WRITE) and scopes.token_allows(writer, [READ, WRITE])
    assert not scopes.token_allows(writer, APPROVE)
    assert scopes.missing_scope(writer, (APPROVE, ADMIN)) == APPROVE
    assert not scopes.token_allows(_token("alice", [APPROVE]), ADMIN)


def test_scim_counts_only_on_the_scim_service_users_token() -> None:
    assert scopes.token_allows(_token(scopes.SCIM_SERVICE_USER, [SCIM]), SCIM)
    # A person's token whose row says scim (written past the rules) still never opens SCIM.
    assert not scopes.token_allows(_token("alice", [SCIM, READ]), SCIM)
    assert scopes.token_allows(_token("alice", [SCIM, READ]), READ)


def test_who_may_be_given_which_scopes() -> None:
    person, scim_user = get_user_model()(username="alice"), get_user_model()(username="x")
    scim_user.username = scopes.SCIM_SERVICE_USER

    def never() -> bool:
        raise AssertionError("only asked for the SCIM service user")

    assert scopes.grantable(person, service_account=False, by_platform_admin=never) == (
        READ,
        WRITE,
        APPROVE,
        ADMIN,
    )
    assert scopes.grantable(person, service_account=True, by_platform_admin=never) == (
        READ,
        WRITE,
    )
    assert scopes.grantable(scim_user, service_account=False, by_platform_admin=lambda: True) == (
        SCIM,
    )
    # Made by anyone but a platform admin, the SCIM user's token is a person's (no scim).
    assert SCIM not in scopes.grantable(
        scim_user, service_account=False, by_platform_admin=lambda: False
    )


def test_new_token_defaults_narrowing_and_refusals() -> None:
    person = (READ, WRITE, APPROVE, ADMIN)
    assert scopes.for_new_token(None, allowed=person) == list(person)
    assert scopes.for_new_token(None, allowed=person, via=[READ, SCIM]) == [READ]
    assert scopes.for_new_token([WRITE, " read"], allowed=person) == [READ, WRITE]
    assert scopes.for_new_token([READ], allowed=person, via=[READ, WRITE]) == [READ]
    cases = [
        (["root"], None, "Unknown scope 'root'", False),
        ([], None, "Choose at least one scope", False),
        ([SCIM], None, "cannot have the 'scim' scope", False),
        ([READ, APPROVE], [READ, WRITE], "lacks the 'approve' scope", True),
    ]
    for requested, via, message, forbidden in cases:
        with pytest.raises(ScopeRefused, match=message) as refused:
            scopes.for_new_token(requested, allowed=person, via=via)
        assert refused.value.forbidden is forbidden and refused.value.field == "scopes"
    with pytest.raises(ScopeRefused, match="none of the scopes") as empty:
        scopes.for_new_token(None, allowed=(READ, WRITE), via=[APPROVE])
    assert empty.value.forbidden


def test_ci_bindings_issue_read_and_write_at_most() -> None:
    assert scopes.for_workload_binding(None) == [READ, WRITE]
    assert scopes.for_workload_binding([WRITE]) == [WRITE]
    for wrong in ([], [APPROVE], [READ, ADMIN], ["nope"]):
        with pytest.raises(ScopeRefused, match="Tokens issued to CI may have read, write"):
            scopes.for_workload_binding(wrong)


@pytest.mark.parametrize(
    ("method", "route", "path", "needed"),
    [
        ("GET", "resource-list", "/api/v1/resources/", (READ,)),
        ("HEAD", "resource-list", "/api/v1/resources/", (READ,)),
        ("POST", "resource-list", "/api/v1/resources/", (WRITE,)),
        ("DELETE", "resource-detail", "/api/v1/resources/1/", (WRITE,)),
        ("POST", "resource-approve", "/api/v1/resources/1/approve/", (APPROVE,)),
        ("POST", "resource-reject", "/api/v1/resources/1/reject/", (APPROVE,)),
        ("POST", "resource-break-glass", "/api/v1/resources/1/break-glass/", (APPROVE, ADMIN)),
        ("POST", "team-list", "/api/v1/teams/", (ADMIN,)),
        ("GET", "team-list", "/api/v1/teams/", (READ,)),
        ("GET", None, "/scim/v2/Users", (SCIM,)),
    ],
)
def test_what_each_request_needs(method: str, route: str | None, path: str, needed: tuple) -> None:
    assert scopes.needed_for_request(method, route, path) == needed


# --- one home --------------------------------------------------------------------------


def _scope_decisions(path: Path) -> list[str]:
    """Comparisons in a module that decide on a token's scopes themselves: membership or
    equality tests on `….scopes`, a `TokenScope.…` member or a `…_SCOPES` list."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        if not all(isinstance(op, ast.In | ast.NotIn | ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [ast.unparse(part) for part in (node.left, *node.comparators)]
        if any(
            text.endswith(".scopes")
            or ".scopes " in text
            or "TokenScope." in text
            or text.endswith("_SCOPES")
            or "scopes or" in text
            for text in operands
        ):
            found.append(f"{path}:{node.lineno} {ast.unparse(node)}")
    return found


def _app_modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path != ROOT / "idp" / "scopes.py"
    ]


def test_no_module_but_idp_scopes_decides_a_scope() -> None:
    offenders = [found for path in _app_modules() for found in _scope_decisions(path)]
    assert offenders == [], "\n".join(offenders)


def test_the_scan_finds_a_local_scope_rule(tmp_path: Path) -> None:
    module = tmp_path / "local_rule.py"
    module.write_text(
        "def allowed(token, TokenScope, SERVICE_ACCOUNT_SCOPES):\n"
        "    if TokenScope.ADMIN in token.scopes:\n"
        "        return True\n"
        "    if 'approve' not in (token.scopes or []):\n"
        "        return False\n"
        "    return [s for s in token.scopes if s in SERVICE_ACCOUNT_SCOPES]\n"
    )
    assert [line.split(" ", 1)[0].rsplit(":", 1)[1] for line in _scope_decisions(module)] == [
        "2",
        "4",
        "6",
    ]
