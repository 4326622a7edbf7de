"""Provisioning actions: one function per operation on a resource or run.

The portal, the API, Django admin actions, the CLI (through the API), management commands
and Celery tasks all call these. Each takes resolved objects or plain values, owns every
rule, is atomic, moves statuses only through `provisioning.lifecycle` and asks
`provisioning.approval_policy` who may decide. One that changes a resource's course returns
a typed outcome (`results`: the status after it, the run it queued, its message), which
every surface renders as is instead of re-reading the resource. Split by topic:
`requests`, `changes`, `approvals`, `holds`, `policy`, `drift`, `archive`, `inbox`, `runs`,
`scheduled`, `permissions`, `resource_access`; `rules` and `proposals` hold what they share.
"""

from .approvals import approve, break_glass, expire_pending_plans, reject, withdraw
from .archive import archive, unarchive
from .changes import change_parameters, replan, request_destroy, retry, upgrade
from .drift import accept_drift, reconcile
from .inbox import InboxItem, inbox_count, inbox_item, inbox_items
from .permissions import ACTIONS, allowed_actions
from .policy import override_policy, reevaluate_pending_plans
from .requests import request_resource
from .resource_access import Access, access_of, access_refusal, restrict, set_access, share
from .runs import LOG_PAGE, cancel_run, read_run_log, unlock
from .scheduled import detect_drift, expire_resources

__all__ = [
    "ACTIONS",
    "Access",
    "access_of",
    "access_refusal",
    "restrict",
    "set_access",
    "share",
    "accept_drift",
    "InboxItem",
    "LOG_PAGE",
    "allowed_actions",
    "approve",
    "archive",
    "break_glass",
    "cancel_run",
    "change_parameters",
    "detect_drift",
    "expire_pending_plans",
    "expire_resources",
    "inbox_count",
    "inbox_item",
    "inbox_items",
    "override_policy",
    "read_run_log",
    "reconcile",
    "reevaluate_pending_plans",
    "reject",
    "replan",
    "request_destroy",
    "request_resource",
    "retry",
    "unarchive",
    "unlock",
    "upgrade",
    "withdraw",
]
