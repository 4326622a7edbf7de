"""The Terraform engine: runner, Terraform execution, backend and credentials, redaction,
encryption and the dispatch of runs to workers."""
