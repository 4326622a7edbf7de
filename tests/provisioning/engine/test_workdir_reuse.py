"""A run's commands in one Terraform process, and the plan's directory reused by its apply."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine import workdirs
from provisioning.engine.runner import RunTask
from provisioning.engine.terraform import Step, Terraform

from .conftest import FIXTURES, log_of, request_module


def request(actor: Any, team: Any, env: str = "dev", name: str = "reuse", **params: Any) -> Any:
    return request_module(
        actor, team, env=env, name=name, parameters={"message": "hello", **params}
    )


def kept_dirs() -> list[Path]:
    return sorted(Path(settings.IDP_WORK_DIR).glob("keep-*"))


@pytest.mark.django_db
def test_apply_reuses_the_plans_directory_without_init(alice, teams, envs, echo, state, drive):
    resource = request(alice, teams["payments"], secret="sekret-77")
    plan = resource.runs.get()
    RunTask(plan.pk).run()
    plan.refresh_from_db()
    assert plan.status == RunStatus.SUCCEEDED, plan.error
    # The plan's log has each command of the one process, in order.
    text = log_of(plan)
    assert text.index("$ terraform init") < text.index("$ terraform plan")
    assert "show -json" not in text and "sekret-77" not in text
    # Kept: initialised, without the variables, the plan file or captured show output.
    (kept,) = kept_dirs()
    names = {p.name for p in kept.iterdir()}
    assert {".terraform", "backend.tf", "main.tf"} <= names
    assert not names & {"terraform.tfvars.json", "plan.tfplan"}
    assert not any(n.startswith(".idp-capture") for n in names)

    (apply,) = drive(resource)[:1]
    assert (apply.kind, apply.status) == (RunKind.APPLY, RunStatus.SUCCEEDED), apply.error
    applied = log_of(apply)
    assert "$ terraform init" not in applied and "$ terraform apply" in applied
    assert "Apply complete" in applied and "sekret-77" not in applied
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.outputs["echo"] == "hello"
    assert kept_dirs() == [] and list(Path(settings.IDP_WORK_DIR).iterdir()) == []


@pytest.mark.django_db
def test_apply_without_a_kept_directory_runs_init(alice, teams, envs, echo, state, drive):
    resource = request(alice, teams["payments"], name="noreuse")
    plan = resource.runs.get()
    RunTask(plan.pk).run()
    for path in kept_dirs():  # e.g. the apply lands on another host
        os.rename(path, path.with_name("elsewhere"))
    (apply,) = drive(resource)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert "$ terraform init" in log_of(apply)
    assert resource.outputs["echo"] == "hello"


@pytest.mark.django_db
def test_a_new_plan_replaces_the_kept_directory_and_old_ones_are_swept(
    alice, bob, teams, envs, echo, state, drive
):
    resource = request(alice, teams["payments"], env="prod", name="twice")
    first = drive(resource)[0]
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert [p.name for p in kept_dirs()] == [f"keep-r{resource.pk}-p{first.pk}"]
    actions.replan(resource, actor=alice)
    second = drive(resource)[0]
    assert [p.name for p in kept_dirs()] == [f"keep-r{resource.pk}-p{second.pk}"]
    # A plan never applied is swept once it is old enough.
    assert workdirs.sweep(max_age_seconds=3600) == 0
    old = time.time() - 7200
    os.utime(kept_dirs()[0], (old, old))
    assert workdirs.sweep(max_age_seconds=3600) == 1 and kept_dirs() == []


def test_sequence_stops_at_the_first_failure_and_captures_data(tmp_path, settings) -> None:
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path / "cache"
    (tmp_path / "main.tf").write_text((FIXTURES / "tf_fail" / "main.tf").read_text())
    names = ("idp_team", "idp_service", "idp_environment", "idp_resource")
    (tmp_path / "terraform.tfvars.json").write_text(json.dumps(dict.fromkeys(names, "x")))
    lines: list[str] = []
    tf = Terraform(tmp_path, {}, on_line=lines.append, tick=lambda: False)
    outcomes = tf.sequence(
        [
            Step(["init", "-input=false", "-json", "-backend=false"]),
            Step(["output", "-json"], capture=True),
            Step(["plan", "-input=false", "-json", "-out=p.tfplan"]),
            Step(["apply", "-input=false", "-json", "p.tfplan"]),
            Step(["show", "-json"], capture=True),
        ]
    )
    assert [o.ok for o in outcomes[:2]] == [True, True]
    assert outcomes[1].output.strip() == "{}"  # captured data, not in the log
    assert len(outcomes) == 4 and not outcomes[3].ok and outcomes[3].errors
    assert [line for line in lines if line.startswith("$ terraform")] == [
        "$ terraform init -input=false -json -backend=false",
        "$ terraform plan -input=false -json -out=p.tfplan",
        "$ terraform apply -input=false -json p.tfplan",
    ]
    assert not list(tmp_path.glob(".idp-capture*"))


PID_MODULE = """
resource "terraform_data" "who" {
  input = "x"
  provisioner "local-exec" {
    command = "echo terraform-pid=$PPID; sleep ${var.pause}"
  }
}
variable "pause" {
  type    = number
  default = 0
}
"""


def terraform_pid(
    root: Path, name: str, env: dict[str, str], *, pause: int = 0, cancel: bool = False
) -> tuple[int | None, list[Any]]:
    """Plan and apply the module above in a new directory; the pid of the Terraform that
    ran the provisioner (the provisioner's shell's parent), and the outcomes. `cancel`:
    the run is cancelled once the provisioner runs."""
    workdir = root / name
    workdir.mkdir()
    (workdir / "main.tf").write_text(PID_MODULE)
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"pause": pause}))
    lines: list[str] = []

    def pids() -> list[int]:
        return [int(m) for line in lines for m in re.findall(r"terraform-pid=(\d+)", line)]

    tf = Terraform(workdir, env, on_line=lines.append, tick=lambda: cancel and bool(pids()))
    outcomes = tf.sequence(
        [
            Step(["init", "-input=false", "-json", "-backend=false"]),
            Step(["plan", "-input=false", "-json", "-out=p.tfplan"]),
            Step(["apply", "-input=false", "-json", "p.tfplan"]),
        ]
    )
    return (pids() or [None])[0], outcomes


def test_runs_with_the_same_environment_share_one_warm_terraform(tmp_path, settings) -> None:
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path / "cache"
    first, outcomes = terraform_pid(tmp_path, "a", {"AWS_REGION": "eu-west-1"})
    assert [o.ok for o in outcomes] == [True, True, True] and first is not None
    second, _ = terraform_pid(tmp_path, "b", {"AWS_REGION": "eu-west-1"})
    assert second == first  # loaded once, used by both
    # Another environment (credentials, region…): Terraform reads it once, so a new child.
    other, _ = terraform_pid(tmp_path, "c", {"AWS_REGION": "us-east-1"})
    assert other not in (None, first)
    assert not any(p.name.startswith(".idp-capture") for p in (tmp_path / "c").iterdir())


def tf_cancelled(outcomes: list[Any]) -> bool:
    return len(outcomes) < 3 or not outcomes[-1].ok


def test_a_stopped_terraform_is_never_reused(tmp_path, settings) -> None:
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path / "cache"
    settings.IDP_CANCEL_GRACE_SECONDS = 5
    env = {"AWS_REGION": "eu-west-1"}
    stopped, outcomes = terraform_pid(tmp_path, "a", env, pause=30, cancel=True)
    assert stopped is not None and tf_cancelled(outcomes)
    after, outcomes = terraform_pid(tmp_path, "b", env)
    assert [o.ok for o in outcomes] == [True, True, True]
    assert after is not None and after != stopped


def test_an_apply_reports_its_outputs_but_not_the_sensitive_values(tmp_path, settings) -> None:
    """The runner takes the outputs from the apply's own stream (no `terraform output`,
    which reads the state again) unless one is sensitive: its value is not there."""
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path / "cache"
    (tmp_path / "main.tf").write_text(
        'resource "terraform_data" "x" { input = "v" }\n'
        'output "plain" { value = terraform_data.x.output }\n'
        'output "shape" { value = { k = [1, 2] } }\n'
        'output "hidden" {\n  value     = "sekret-5"\n  sensitive = true\n}\n'
    )
    lines: list[str] = []
    tf = Terraform(tmp_path, {}, on_line=lines.append, tick=lambda: False)
    init, plan, apply = tf.sequence(
        [
            Step(["init", "-input=false", "-json", "-backend=false"]),
            Step(["plan", "-input=false", "-json", "-out=p.tfplan"]),
            Step(["apply", "-input=false", "-json", "p.tfplan"]),
        ]
    )
    assert apply.ok and plan.outputs is None
    assert apply.outputs is not None
    assert apply.outputs["plain"] == {"sensitive": False, "type": "string", "value": "v"}
    assert apply.outputs["shape"]["value"] == {"k": [1, 2]}
    assert apply.outputs["hidden"]["sensitive"] is True and "value" not in apply.outputs["hidden"]
    assert not any("sekret-5" in line for line in lines)


@pytest.mark.django_db
def test_a_plan_that_needs_no_approval_goes_on_to_its_apply_in_the_same_task(
    alice, teams, envs, echo, state
):
    resource = request(alice, teams["payments"], name="follow")
    plan = resource.runs.get()
    assert RunTask(plan.pk, follow=True).run() == "succeeded"
    resource.refresh_from_db()
    apply = resource.runs.get(kind=RunKind.APPLY)
    assert apply.status == RunStatus.SUCCEEDED and apply.plan_run_id == plan.pk
    assert resource.status == ResourceStatus.PROVISIONED and resource.outputs["echo"] == "hello"
    # Its message, when it comes, finds the apply taken.
    assert RunTask(apply.pk, follow=True).run() == "skipped"
    # Where an approval is needed the plan stops there, as without `follow`.
    waiting = request(alice, teams["payments"], env="prod", name="follow-prod")
    RunTask(waiting.runs.get().pk, follow=True).run()
    waiting.refresh_from_db()
    assert waiting.status == ResourceStatus.AWAITING_APPROVAL
    assert not waiting.runs.filter(kind=RunKind.APPLY).exists()
