"""The workflow's deciders, enumerated as tables (pure: no database), and the typed outcome a
decision returns (surfaces render it; they never re-read the resource)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from provisioning.choices import ResourceEvent as E
from provisioning.choices import ResourceStatus as S
from provisioning.choices import RunKind
from provisioning.lifecycle import allowed
from provisioning.workflow import (
    Loss,
    Next,
    PlanFacts,
    StateVersion,
    StopFacts,
    after_loss,
    after_plan,
    after_stop,
    gate,
    replaces_or_destroys,
)

CHANGE = PlanFacts(
    status=S.PLANNING,
    provisioned=True,
    has_changes=True,
    is_destroy=False,
    refresh_only=False,
    held=False,
    proposal_changes_nothing=False,
    needs_approval=False,
    policy_blocked=False,
)


def facts(**changes: Any) -> PlanFacts:
    return dataclasses.replace(CHANGE, **changes)


PLAN_TABLE = [
    # (facts, next, to)
    (facts(), Next.QUEUE_APPLY, S.APPLYING),
    (facts(needs_approval=True), Next.AWAIT_APPROVAL, S.AWAITING_APPROVAL),
    (facts(has_changes=False, proposal_changes_nothing=True), Next.ADOPT, S.PROVISIONED),
    # A no-op plan whose proposal changes a value still needs its review where required.
    (facts(has_changes=False, needs_approval=True), Next.AWAIT_APPROVAL, S.AWAITING_APPROVAL),
    (facts(has_changes=False), Next.ADOPT, S.PROVISIONED),
    # A first request is never adopted unapplied.
    (facts(has_changes=False, provisioned=False), Next.QUEUE_APPLY, S.APPLYING),
    (facts(policy_blocked=True), Next.POLICY_GATE, S.POLICY_FAILED),
    (facts(policy_blocked=True, needs_approval=True), Next.POLICY_GATE, S.POLICY_FAILED),
    (facts(held=True), Next.HOLD, None),
    (facts(held=True, has_changes=False), Next.HOLD, None),
    (facts(refresh_only=True, has_changes=False), Next.QUEUE_APPLY, S.APPLYING),
    (facts(is_destroy=True, status=S.DESTROYING), Next.QUEUE_APPLY, None),
    (
        facts(is_destroy=True, status=S.DESTROYING, needs_approval=True),
        Next.AWAIT_APPROVAL,
        S.AWAITING_APPROVAL,
    ),  # fmt: skip
    # After a lost run: nothing to do means the lost apply did it; its empty plan is applied.
    (facts(recovering=True, has_changes=False), Next.QUEUE_APPLY, S.APPLYING),
    (facts(recovering=True, has_changes=False, needs_approval=True), Next.QUEUE_APPLY, S.APPLYING),
    # ... a plan that would replace or destroy what it created is reviewed, even in dev.
    (facts(recovering=True, replaces_or_destroys=True), Next.AWAIT_APPROVAL, S.AWAITING_APPROVAL),
    (facts(recovering=True), Next.QUEUE_APPLY, S.APPLYING),
    (
        facts(recovering=True, has_changes=False, policy_blocked=True),
        Next.POLICY_GATE,
        S.POLICY_FAILED,
    ),  # fmt: skip
]


@pytest.mark.parametrize(("given", "then", "to"), PLAN_TABLE)
def test_after_plan(given: PlanFacts, then: Next, to: S | None) -> None:
    step = after_plan(given)
    assert (step.next, step.to) == (then, to)
    if step.to is not None:
        assert step.event is not None and allowed(step.event, given.status, step.to)


def test_gate_from_a_policy_failure_goes_to_the_apply_or_destroy() -> None:
    assert gate(S.POLICY_FAILED, needs=False, is_destroy=True).to == S.DESTROYING
    assert gate(S.POLICY_FAILED, needs=False, is_destroy=False).to == S.APPLYING
    waits = gate(S.POLICY_FAILED, needs=True, is_destroy=False, waits=E.POLICY_OVERRIDDEN)
    assert (waits.next, waits.event) == (Next.AWAIT_APPROVAL, E.POLICY_OVERRIDDEN)


V1 = StateVersion(3, "lineage-a")
LOSS_TABLE = [
    (RunKind.APPLY, V1, V1, Loss.FAILED),
    (RunKind.DESTROY, V1, V1, Loss.FAILED),
    (RunKind.APPLY, StateVersion(0, ""), StateVersion(0, ""), Loss.FAILED),  # still no state
    (RunKind.APPLY, V1, StateVersion(4, "lineage-a"), Loss.OUTCOME_UNKNOWN),
    (RunKind.APPLY, StateVersion(0, ""), StateVersion(1, "new"), Loss.OUTCOME_UNKNOWN),
    (RunKind.APPLY, V1, StateVersion(3, "lineage-b"), Loss.OUTCOME_UNKNOWN),  # replaced
    (RunKind.DESTROY, V1, StateVersion(4, "lineage-a"), Loss.OUTCOME_UNKNOWN),
    (RunKind.APPLY, None, V1, Loss.OUTCOME_UNKNOWN),  # never recorded: never assumed
    (RunKind.APPLY, V1, None, Loss.OUTCOME_UNKNOWN),  # unreadable now: never assumed
    (RunKind.PLAN, V1, StateVersion(9, "x"), Loss.FAILED),  # a plan writes no state
    (RunKind.DRIFT, None, None, Loss.FAILED),
]


@pytest.mark.parametrize(("kind", "before", "now", "loss"), LOSS_TABLE)
def test_after_loss(kind: str, before: Any, now: Any, loss: Loss) -> None:
    assert after_loss(kind, before, now) == loss


def test_the_outcome_unknown_moves_are_in_the_lifecycle_table() -> None:
    assert allowed(E.OUTCOME_UNKNOWN, S.APPLYING, S.PLANNING)
    assert allowed(E.OUTCOME_UNKNOWN, S.DESTROYING, S.DESTROYING)


STOP = StopFacts(
    kind=RunKind.APPLY, exists=True, nothing_ran=False, newer_run=False, recovering=False
)


@pytest.mark.parametrize(
    ("given", "to", "discard"),
    [
        (STOP, S.FAILED, True),
        (dataclasses.replace(STOP, nothing_ran=True), S.PROVISIONED, True),
        (dataclasses.replace(STOP, kind=RunKind.PLAN, nothing_ran=True), S.PROVISIONED, True),
        (dataclasses.replace(STOP, exists=False, nothing_ran=True), S.FAILED, True),
        # A plan finding out what a lost run did: failed, its proposal kept for the retry.
        (
            dataclasses.replace(STOP, kind=RunKind.PLAN, nothing_ran=True, recovering=True),
            S.FAILED,
            False,
        ),  # fmt: skip
        (dataclasses.replace(STOP, newer_run=True), None, False),
        (dataclasses.replace(STOP, kind=RunKind.DRIFT), None, False),
    ],
)
def test_after_stop(given: StopFacts, to: S | None, discard: bool) -> None:
    step = after_stop(given)
    assert (step.to, step.discard) == (to, discard)


def test_replaces_or_destroys_reads_the_plan_summary() -> None:
    assert replaces_or_destroys({"resources": [{"action": "replace"}]})
    assert replaces_or_destroys({"resources": [{"action": "delete"}]})
    assert replaces_or_destroys({"resources": [{"action": "create-delete"}]})
    assert not replaces_or_destroys({"resources": [{"action": "update"}, {"action": "create"}]})
    assert not replaces_or_destroys(None)
