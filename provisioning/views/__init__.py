"""Portal views of the provisioning app (resources, runs)."""

from .manage import resource_archive, resource_unarchive
from .policy import resource_override_policy
from .resources import (
    resource_approve,
    resource_break_glass,
    resource_change,
    resource_destroy,
    resource_detail,
    resource_list,
    resource_plan,
    resource_reject,
    resource_retry,
    resource_upgrade,
    resource_withdraw,
    service_resources,
)
from .runs import run_cancel, run_detail, run_log

__all__ = [
    "resource_approve",
    "resource_archive",
    "resource_break_glass",
    "resource_change",
    "resource_destroy",
    "resource_detail",
    "resource_list",
    "resource_override_policy",
    "resource_plan",
    "resource_reject",
    "resource_retry",
    "resource_unarchive",
    "resource_upgrade",
    "resource_withdraw",
    "run_cancel",
    "run_detail",
    "run_log",
    "service_resources",
]
