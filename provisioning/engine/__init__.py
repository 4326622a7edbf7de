"""The Terraform engine: runner, Terraform execution, backend and credentials, redaction,
and taking queued runs (`claim`). It hands every outcome to `provisioning.workflow` and
imports no action; queueing a run is `provisioning.dispatch`, below the workflow."""
