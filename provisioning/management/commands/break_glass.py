from __future__ import annotations

from provisioning import actions

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = (
        "Break-glass: a platform admin (USER) approves a resource's pending plan alone, past "
        "the four-eyes rule. A reason is required; the override is audited and shown."
    )
    reason_required = True
    reason_help = "Why this cannot wait"
    action = actions.break_glass
