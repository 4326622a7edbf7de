"""The runner: one class with fixed steps for every run (AWX's BaseTask shape).

cancel check → running (lock, worker, heartbeat) → private working dir → files and
environment → Terraform → record → final status → cleanup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.context import bound

from ..choices import RunKind, RunStatus
from ..models import Resource, Run
from . import dispatch
from .backend import backend_tf, credentials_env
from .crypto import decrypt_bytes, decrypt_json
from .dbretry import retry_locked
from .logwriter import LogWriter
from .outcomes import SUPERSEDED, finish_apply, finish_drift, finish_plan, plan_refusal
from .redact import Redactor
from .terraform import Cancelled, Terraform, provider_problem

log = logging.getLogger(__name__)

# Module files the platform writes itself, or that would leak state between runs.
RESERVED = {"backend.tf", "terraform.tfvars.json", "plan.tfplan", ".terraform.lock.hcl"}


class RunFailed(Exception):
    """The run failed for a reason worth showing as is."""


class PlanRefused(RunFailed):
    """The stored plan may not be applied; a new plan is made."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


class RunTask:
    """Executes one queued run from start to end; safe to call twice for the same run."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.workdir: Path | None = None
        self.redactor = Redactor()
        self.log: LogWriter | None = None

    # --- the fixed steps -----------------------------------------------------------------

    def run(self) -> str:
        run = dispatch.acquire(self.run_id, worker_name())
        if run is None:
            return "skipped"
        with bound(run_id=str(run.pk)):
            self.log = LogWriter(run.pk, self.redactor)
            try:
                self.workdir = self.make_workdir(run)
                resource = Resource.objects.select_related(
                    "team", "environment", "service", "template"
                ).get(pk=run.resource_id)
                creds = self.build_env(run, resource)
                self.write_files(run, resource)
                tf = self.terraform(creds)
                self.execute(run, resource, tf, creds)
                return "succeeded"
            except Cancelled as exc:
                self.stop(
                    run,
                    RunStatus.CANCELLED if str(exc) == "cancelled" else RunStatus.FAILED,
                    "Cancelled" if str(exc) == "cancelled" else f"Stopped: {exc}",
                )
                return "cancelled"
            except PlanRefused as exc:
                self.refuse(run, str(exc))
                return "refused"
            except RunFailed as exc:
                self.stop(run, RunStatus.FAILED, str(exc))
                return "failed"
            except Exception as exc:  # noqa: BLE001 - any error ends the run readable, not stuck
                log.exception("run %s crashed", run.pk)
                self.stop(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
                return "failed"
            finally:
                self.cleanup()

    def make_workdir(self, run: Run) -> Path:
        root = Path(settings.IDP_WORK_DIR)
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"run-{run.pk}-{uuid.uuid4().hex[:8]}"
        path.mkdir(mode=0o700)
        return path

    def build_env(self, run: Run, resource: Resource) -> dict[str, str]:
        creds = credentials_env(resource.environment, f"idp-run-{run.pk}")
        self.redactor.add(
            creds.get("AWS_SECRET_ACCESS_KEY"),
            creds.get("AWS_SESSION_TOKEN"),
            decrypt_json(resource.sensitive_parameters),
            decrypt_json(resource.sensitive_outputs),
        )
        return creds

    def write_files(self, run: Run, resource: Resource) -> None:
        assert self.workdir is not None
        root = self.workdir.resolve()
        for rel, text in (run.template_version.files or {}).items():
            target = (root / rel).resolve()
            if root not in target.parents or Path(rel).name in RESERVED:
                continue  # no writing outside the working dir, no module-supplied backend
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        (root / "backend.tf").write_text(backend_tf(resource))
        # User input reaches Terraform only as JSON variables: never spliced into HCL.
        variables = {
            **run.parameters,
            **decrypt_json(resource.sensitive_parameters),
            "idp_team": resource.team.slug,
            "idp_service": resource.service.slug if resource.service_id else "",
            "idp_environment": resource.environment.slug,
            "idp_resource": resource.name,
        }
        (root / "terraform.tfvars.json").write_text(json.dumps(variables, indent=2))

    def terraform(self, creds: dict[str, str]) -> Terraform:
        assert self.workdir is not None and self.log is not None
        limit = int(getattr(settings, "IDP_RUN_TIME_LIMIT", 3600))
        return Terraform(
            self.workdir,
            creds,
            on_line=self.log.write,
            tick=self.log.tick,
            deadline=time.monotonic() + limit,
            grace_seconds=float(getattr(settings, "IDP_CANCEL_GRACE_SECONDS", 30)),
        )

    def execute(self, run: Run, resource: Resource, tf: Terraform, creds: dict[str, str]) -> None:
        if run.kind in (RunKind.APPLY, RunKind.DESTROY):
            problem = plan_refusal(run)
            if problem:
                raise PlanRefused(problem)
            assert self.workdir is not None and run.plan_run is not None
            data = decrypt_bytes(run.plan_run.plan_file) or b""
            (self.workdir / "plan.tfplan").write_bytes(data)
        self.init(tf)
        if run.kind == RunKind.PLAN:
            args = ["plan", "-input=false", "-json", "-out=plan.tfplan"]
            self.check(tf, tf.stream(args + (["-destroy"] if run.is_destroy else [])), "plan")
            finish_plan(run, self._show(tf), (self.workdir / "plan.tfplan").read_bytes())
        elif run.kind == RunKind.DRIFT:
            args = ["plan", "-input=false", "-json", "-refresh-only", "-out=plan.tfplan"]
            self.check(tf, tf.stream(args), "drift check")
            finish_drift(run, self._show(tf))
        else:
            self.check(tf, tf.stream(["apply", "-input=false", "-json", "plan.tfplan"]), "apply")
            outputs = {} if run.is_destroy else self._outputs(tf)
            finish_apply(run, outputs, creds, self.log)

    def init(self, tf: Terraform) -> None:
        outcome = tf.stream(["init", "-input=false", "-json", "-no-color"])
        self.raise_if_cancelled(tf)
        if not outcome.ok:
            raise RunFailed(
                provider_problem(outcome) or f"terraform init failed:\n{outcome.error_text()}"
            )

    def check(self, tf: Terraform, outcome: Any, step: str) -> None:
        self.raise_if_cancelled(tf)
        if not outcome.ok:
            raise RunFailed(f"terraform {step} failed:\n{self.redactor(outcome.error_text())}")

    def raise_if_cancelled(self, tf: Terraform) -> None:
        if tf.cancel_reason:
            raise Cancelled(tf.cancel_reason)

    def _show(self, tf: Terraform) -> dict[str, Any]:
        outcome = tf.capture(["show", "-json", "plan.tfplan"])
        if not outcome.ok:
            raise RunFailed(f"terraform show failed:\n{outcome.error_text()}")
        return json.loads(outcome.output)

    def _outputs(self, tf: Terraform) -> dict[str, Any]:
        outcome = tf.capture(["output", "-json"])
        if not outcome.ok:
            raise RunFailed(f"terraform output failed:\n{outcome.error_text()}")
        data = json.loads(outcome.output or "{}")
        self.redactor.add(*(o.get("value") for o in data.values() if o.get("sensitive")))
        return data

    # --- final status ----------------------------------------------------------------------

    @retry_locked
    def stop(self, run: Run, status: str, error: str) -> None:
        """End the run without success and settle the resource."""
        error = self.redactor(error)
        if self.log is not None:
            self.log.write(f"Error: {error}" if status == RunStatus.FAILED else error)
            self.log.flush()
        with transaction.atomic():
            resource = Resource.objects.select_for_update().get(pk=run.resource_id)
            updated = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                status=status, error=error[:20000], finished_at=timezone.now()
            )
            if not updated:
                return  # the reaper or an operator already ended it
            if run.kind == RunKind.DRIFT:
                resource.drift_checked_at = timezone.now()
                resource.save(update_fields=["drift_checked_at"])
            else:
                dispatch.settle_after_stop(resource, f"Run {run.pk} ({run.kind}): {error}", run)
            dispatch.release(resource.pk, run.pk)
            audit.record(
                f"run.{status}",
                target=run,
                team=resource.team,
                details={"kind": run.kind, "error": error[:500]},
            )

    @retry_locked
    def refuse(self, run: Run, reason: str) -> None:
        """The stored plan may not be applied: fail the apply and make a new plan.

        A plan superseded by a newer one is only skipped: the newer plan is on its way.
        """
        if reason == SUPERSEDED:
            with transaction.atomic():
                Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.CANCELLED, error=reason, finished_at=timezone.now()
                )
                dispatch.release(run.resource_id, run.pk)
            return
        self.stop(run, RunStatus.FAILED, reason)
        with transaction.atomic():
            resource = Resource.objects.select_for_update().get(pk=run.resource_id)
            plan = run.plan_run
            new_plan = dispatch.new_run(
                resource,
                RunKind.PLAN,
                version=plan.template_version if plan else None,
                parameters=plan.parameters if plan else None,
                is_destroy=run.is_destroy,
            )
            resource.status = dispatch.running_status(new_plan, resource) or resource.status
            resource.save(update_fields=["status", "updated_at"])
            audit.record(
                "resource.plan_refused",
                target=resource,
                details={"apply_run": run.pk, "reason": reason, "new_plan": new_plan.pk},
            )

    def cleanup(self) -> None:
        if self.log is not None:
            self.log.flush()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def plan_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
