"""The runner: one class with fixed steps for every run (AWX's BaseTask shape).

cancel check → running (lock, worker, heartbeat) → private working dir → files and
environment → Terraform → record → final status → cleanup.

An apply whose state Terraform could not store (the backend unreachable at the end) keeps
that state, encrypted, with the run and leaves the resource `state_pending` until
`pending_state.push` stores it; the working directory never takes it along.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from idp.conf import setting
from idp.context import bound
from idp.jobs.dispatch import Heartbeat, claim

from .. import references, workflow
from ..choices import RunKind, RunStatus
from ..crypto import decrypt_bytes, decrypt_json, encrypt_bytes
from ..models import Resource, Run
from ..sensitivity import split_outputs
from . import state_cache, workdirs
from .backend import backend_tf, credentials_env
from .claim import RUN_JOB
from .dbretry import retry_locked
from .logwriter import LogWriter
from .outcomes import finish_apply, finish_drift, finish_plan, plan_refusal
from .redact import Redactor
from .terraform import Cancelled, Outcome, Step, Terraform, provider_problem

log = logging.getLogger(__name__)

# Module files the platform writes itself, or that would leak state between runs.
RESERVED = {"backend.tf", "terraform.tfvars.json", "plan.tfplan", ".terraform.lock.hcl"}


class RunFailed(Exception):
    """The run failed for a reason worth showing as is."""


class PlanRefused(RunFailed):
    """The stored plan may not be applied; a new plan is made."""


class StateNotStored(Exception):
    """Terraform applied but could not write the state to the backend (errored.tfstate)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


# A plan that took longer than this leaves its apply to the queue: the task's time limit
# counts from the plan's start, and the apply needs its own full IDP_RUN_TIME_LIMIT.
FOLLOW_WITHIN_SECONDS = 60.0


class RunTask:
    """Executes one queued run from start to end; safe to call twice for the same run.

    With `follow`, a plan whose apply the workflow queued at once (no approval needed)
    goes on to that apply here, in the same task and with the same warm Terraform, instead
    of a round trip through the broker; the apply's own message then finds it taken."""

    def __init__(self, run_id: int, *, follow: bool = False) -> None:
        self.run_id = run_id
        self.follow = follow
        self.then: int | None = None
        self.workdir: Path | None = None
        self.redactor = Redactor()
        self.log: LogWriter | None = None
        self.resource: Resource | None = None

    def run(self) -> str:
        started = time.monotonic()
        result = self.run_once()
        if self.then is not None and time.monotonic() - started < FOLLOW_WITHIN_SECONDS:
            RunTask(self.then).run_once()
        return result

    # --- the fixed steps -----------------------------------------------------------------

    def run_once(self) -> str:
        run = claim(RUN_JOB, self.run_id, worker_name())
        if run is None:
            return "skipped"
        # The framework's heartbeat beats while the run works (the log writer too, with
        # each batch of lines): a blocking step before Terraform still shows a live worker.
        with bound(run_id=str(run.pk)), Heartbeat(RUN_JOB, run):
            self.log = LogWriter(run.pk, self.redactor)
            try:
                self.workdir = self.make_workdir(run)
                resource = Resource.objects.select_related(
                    "team", "environment", "service", "template"
                ).get(pk=run.resource_id)
                self.resource = resource
                creds = self.build_env(run, resource)
                self.record_state_version(run, resource)
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
            except StateNotStored as exc:
                self.keep_state(run, exc.path)
                return "state_pending"
            except RunFailed as exc:
                self.stop(run, RunStatus.FAILED, str(exc))
                return "failed"
            except DatabaseError as exc:
                self.database_lost(run, exc)
                return "failed"
            except Exception as exc:  # noqa: BLE001 - any error ends the run readable, not stuck
                log.exception("run %s crashed", run.pk)
                self.stop(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
                return "failed"
            finally:
                self.cleanup()

    def make_workdir(self, run: Run) -> Path:
        if run.kind in (RunKind.APPLY, RunKind.DESTROY) and run.plan_run_id:
            path = workdirs.adopt(run.resource_id, run.plan_run_id, run.pk)
            if path is not None:
                return path
        return workdirs.new_dir(run.pk)

    def build_env(self, run: Run, resource: Resource) -> dict[str, str]:
        creds = credentials_env(resource.environment, f"idp-run-{run.pk}")
        self.redactor.add(
            creds.get("AWS_SECRET_ACCESS_KEY"),
            creds.get("AWS_SESSION_TOKEN"),
            decrypt_json(run.sensitive_parameters),
            decrypt_json(resource.sensitive_parameters),
            decrypt_json(resource.sensitive_outputs),
        )
        return creds

    def record_state_version(self, run: Run, resource: Resource) -> None:
        """The backend state's serial and lineage as this plan or apply starts: when its
        worker dies, the reaper compares them with the state then (`workflow.run_lost`)."""
        if run.kind == RunKind.DRIFT:
            return
        try:
            # One HeadObject while the state is the one last summarised (state_cache).
            version = state_cache.version(resource)
        except Exception as exc:  # noqa: BLE001 - not recorded: a loss is then "unknown"
            log.warning("run %s: could not read the state's serial: %s", run.pk, exc)
            return
        Run.objects.filter(pk=run.pk).update(
            state_serial=version.serial, state_lineage=version.lineage[:64]
        )
        run.state_serial, run.state_lineage = version.serial, version.lineage[:64]

    def refresh_state_summary(self, resource: Resource) -> state_cache.Summary | None:
        """The apply wrote a new state: its summary is cached now, for the next plan's
        start and the apply's own outputs (dropped, None, when it cannot be read)."""
        try:
            return state_cache.refresh(resource)
        except Exception as exc:  # noqa: BLE001 - the apply is done; the next read downloads
            log.warning("resource %s: state summary not refreshed: %s", resource.pk, exc)
            state_cache.forget(resource)
            return None

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
        # The run's own inputs: a proposal is planned and applied with what it proposes.
        inputs = {**run.parameters, **decrypt_json(run.sensitive_parameters)}
        try:
            # A parameter taken from another resource's output: its value now (see there).
            inputs = references.run_inputs(run, inputs)
        except references.Unresolved as exc:
            raise RunFailed(str(exc)) from None
        variables = {
            **inputs,
            "idp_team": resource.team.slug,
            "idp_service": resource.service.slug if resource.service else "",
            "idp_environment": resource.environment.slug,
            "idp_resource": resource.name,
        }
        # Decrypted sensitive values: readable by the worker only, gone when Terraform is done.
        workdirs.write_private(root / workdirs.VARIABLES, json.dumps(variables, indent=2))

    def terraform(self, creds: dict[str, str]) -> Terraform:
        assert self.workdir is not None and self.log is not None
        limit = setting("IDP_RUN_TIME_LIMIT")
        return Terraform(
            self.workdir,
            creds,
            on_line=self.log.write,
            tick=self.log.tick,
            deadline=time.monotonic() + limit,
            grace_seconds=setting("IDP_CANCEL_GRACE_SECONDS"),
        )

    def execute(self, run: Run, resource: Resource, tf: Terraform, creds: dict[str, str]) -> None:
        assert self.workdir is not None
        if run.kind in (RunKind.APPLY, RunKind.DESTROY):
            problem = plan_refusal(run)
            if problem:
                raise PlanRefused(problem)
            assert run.plan_run is not None
            # Exactly the stored (hash-checked) bytes, even in the plan's own directory.
            data = decrypt_bytes(run.plan_run.plan_file) or b""
            workdirs.write_private_bytes(self.workdir / workdirs.PLAN_FILE, data)
            steps = [Step(["apply", "-input=false", "-json", "plan.tfplan"])]
            # A plan's kept directory, taken over, is initialised already (workdirs.keep).
            initialised = (self.workdir / ".terraform").is_dir()
            try:
                outcomes = self.init_then(tf, steps, needed=not initialised)
            finally:
                workdirs.remove_secrets(self.workdir)
                # Applied but not stored: that outranks a failure or a cancel of the apply.
                self.raise_if_state_not_stored()
            applied = self.at(tf, outcomes, 0)
            self.check(tf, applied, "apply")
            stored = self.refresh_state_summary(resource)
            outputs = {} if run.is_destroy else self._outputs(tf, applied, stored)
            finish_apply(run, outputs, creds, self.log)
            return
        args = ["plan", "-input=false", "-json", "-out=plan.tfplan"]
        # A drift check, and the plan that accepts drift, only refresh: no change is planned.
        if run.kind == RunKind.DRIFT or run.refresh_only:
            args.insert(3, "-refresh-only")
        elif run.is_destroy:
            args.append("-destroy")
        show = Step(["show", "-json", "plan.tfplan"], capture=True)
        try:
            outcomes = self.init_then(tf, [Step(args), show])
        finally:
            workdirs.remove_secrets(self.workdir)
        self.check(
            tf, self.at(tf, outcomes, 0), "plan" if run.kind == RunKind.PLAN else "drift check"
        )
        plan = self._show(self.at(tf, outcomes, 1))
        # The log is stored before the run ends: a page that sees the final status reads
        # the whole log (left to `cleanup`, a fast plan's lines came after its status).
        if self.log is not None:
            self.log.flush()
        if run.kind == RunKind.DRIFT:
            finish_drift(run, plan, redact=self.redactor)
            return
        plan_file = (self.workdir / "plan.tfplan").read_bytes()
        kept = workdirs.keep(self.workdir, run.resource_id, run.pk)
        if kept is not None:
            self.workdir = None  # kept for the apply, not cleaned up
        try:
            finish_plan(run, plan, plan_file, redact=self.redactor)
        except BaseException:
            if kept is not None:
                shutil.rmtree(kept, ignore_errors=True)
            raise
        if self.follow and run.kind == RunKind.PLAN:
            self.then = (
                Run.objects.filter(
                    plan_run_id=run.pk,
                    kind__in=(RunKind.APPLY, RunKind.DESTROY),
                    status=RunStatus.QUEUED,
                )
                .values_list("pk", flat=True)
                .first()
            )

    def init_then(self, tf: Terraform, steps: list[Step], *, needed: bool = True) -> list[Outcome]:
        """Run `init` (when needed) and the steps in one sequence; the steps' outcomes."""
        if not needed:
            return tf.sequence(steps)
        outcomes = tf.sequence([Step(["init", "-input=false", "-json", "-no-color"]), *steps])
        init = self.at(tf, outcomes, 0)
        if not init.ok:
            raise RunFailed(
                provider_problem(init) or f"terraform init failed:\n{init.error_text()}"
            )
        return outcomes[1:]

    def at(self, tf: Terraform, outcomes: list[Outcome], index: int) -> Outcome:
        """The outcome of one step; a step that never ran means a cancel or an early stop."""
        self.raise_if_cancelled(tf)
        if index >= len(outcomes):
            raise RunFailed("terraform stopped before the run's commands finished")
        return outcomes[index]

    def check(self, tf: Terraform, outcome: Any, step: str) -> None:
        self.raise_if_cancelled(tf)
        if not outcome.ok:
            raise RunFailed(f"terraform {step} failed:\n{self.redactor(outcome.error_text())}")

    def raise_if_cancelled(self, tf: Terraform) -> None:
        if tf.cancel_reason:
            raise Cancelled(tf.cancel_reason)

    def raise_if_state_not_stored(self) -> None:
        assert self.workdir is not None
        errored = self.workdir / workdirs.ERRORED_STATE
        if errored.exists():
            raise StateNotStored(errored)

    def _show(self, outcome: Outcome) -> dict[str, Any]:
        if not outcome.ok:
            raise RunFailed(f"terraform show failed:\n{outcome.error_text()}")
        return json.loads(outcome.output)

    def _outputs(
        self, tf: Terraform, applied: Outcome, stored: state_cache.Summary | None
    ) -> dict[str, Any]:
        """The outputs the apply reported. Where its stream could not tell them all (a
        sensitive one is reported without its value): those of the state it stored, just
        summarised; `terraform output` (which reads that state again) only when that
        state could not be read."""
        data = applied.outputs
        if data is None or any(o.get("sensitive") for o in data.values()):
            if stored is not None:
                data = stored.terraform_outputs()
            else:
                outcome = self.at(tf, tf.sequence([Step(["output", "-json"], capture=True)]), 0)
                if not outcome.ok:
                    raise RunFailed(f"terraform output failed:\n{outcome.error_text()}")
                data = json.loads(outcome.output or "{}")
        _, secret = split_outputs(data, self.resource)
        self.redactor.add(*secret.values())
        return data

    # --- final status ----------------------------------------------------------------------

    def stop(
        self, run: Run, status: RunStatus, error: str, *, logged: bool = False, **how: Any
    ) -> bool:
        """End the run without success and settle the resource; False if already ended."""
        error = self.redactor(error)
        if self.log is not None:
            if not logged:
                self.log.write(
                    f"Error: {error}" if status == RunStatus.FAILED else error, final=True
                )
            self.log.flush()
        return self._settle(run, status, error, **how)

    @retry_locked
    def _settle(self, run: Run, status: RunStatus, error: str, **how: Any) -> bool:
        with transaction.atomic():
            resource = Resource.objects.select_for_update().get(pk=run.resource_id)
            return workflow.run_stopped(run, resource, status, error, **how)

    @retry_locked
    def refuse(self, run: Run, reason: str) -> None:
        """The stored plan may not be applied: the workflow ends the apply and decides what
        follows (skip a superseded plan, discard an expired approval, or plan again)."""
        workflow.plan_refused(run, reason, self.stop)

    def database_lost(self, run: Run, exc: DatabaseError, attempts: int = 5) -> None:
        """The database dropped this worker's connection mid-run (restart, failover, a killed
        backend): end the run on a new connection, with the log lines still buffered, instead
        of leaving it `running` with its lock held until the reaper calls it "worker lost"."""
        log.warning("run %s lost its database connection: %s", run.pk, exc)
        reason = f"{DATABASE_LOST} ({first_database_error(exc)}); retry the run"
        if self.log is not None:
            self.log.write(f"Error: {reason}", final=True)
        for attempt in range(attempts):
            with contextlib.suppress(DatabaseError):
                connection.close()  # the broken connection; the next query opens a new one
            try:
                self.stop(run, RunStatus.FAILED, reason, logged=True)
                return
            except DatabaseError:
                time.sleep(min(2.0 * (attempt + 1), 10.0))  # the database may be coming back
        log.error("run %s could not be ended after losing the database; the reaper will", run.pk)

    def keep_state(self, run: Run, errored: Path) -> None:
        """Terraform applied but could not store the state: keep it (encrypted) with the run,
        end the run and move the resource to `state_pending`; `pending_state.push` (beat,
        or `manage.py push_state`) stores it once the backend answers."""
        error = (
            "Terraform applied the change but could not store its state in the backend. "
            "The state is kept, encrypted, with this run and is pushed automatically when "
            f"the backend answers again (or: manage.py push_state {run.pk})."
        )
        if self.log is not None:
            self.log.write(f"Error: {error}", final=True)
            self.log.flush()
        if self._keep_state(run, errored.read_bytes(), error):
            errored.unlink()  # stored with the run (committed): the disk copy may go
        # Not ended here (the reaper or an operator was first): the file stays on disk, and
        # cleanup moves it aside instead of deleting it.

    @retry_locked
    def _keep_state(self, run: Run, data: bytes, error: str) -> bool:
        from .pending_state import first_retry_at

        return workflow.state_kept(
            run,
            {
                "pending_state": encrypt_bytes(data),
                "pending_state_attempts": 0,
                "pending_state_retry_at": first_retry_at(timezone.now()),
            },
            error,
        )

    def cleanup(self) -> None:
        if self.log is not None:
            try:
                self.log.flush()
            except DatabaseError as exc:  # the run already ended; its last lines cannot be kept
                log.warning("run %s: last log lines lost: %s", self.run_id, exc)
        if self.workdir is not None:
            workdirs.remove(self.workdir, self.run_id)


DATABASE_LOST = "database connection lost during the run"


def first_database_error(exc: BaseException) -> str:
    """The first line of the database error that started a chain ("connection is closed"
    errors that follow a drop name only its consequence)."""
    first: BaseException = exc
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, DatabaseError):
            first = cause
        cause = cause.__context__
    return (str(first).strip().splitlines() or [type(first).__name__])[0]
