"""Platform status and observability: readiness checks, status numbers, Prometheus metrics."""
