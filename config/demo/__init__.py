"""`make run`'s demo activity: what a newcomer needs to see every page working.

`manage.py seed_demo` makes the people and places (teams, users, environments, services).
`manage.py seed_demo --activity`, which `make run` starts once the worker and the portal are
up, adds what happens in them, through the same services and the local AWS API that real
data goes through, never by writing results into tables:

- Cost Explorer figures queued in the local AWS API, read by the platform's cost collector;
  budgets saved through the budget service and checked by the platform's budget check;
- resources requested by alice and planned and applied by the worker (real Terraform):
  a queue whose CloudWatch metrics are put into the local AWS API and read by the metrics
  collector, a configuration changed behind the platform's back (its state object in the
  local S3) and caught by the drift check, and a prod request awaiting bob's approval;
- a pipeline created through the pipelines service, its runs delivered as signed GitHub
  `workflow_run` webhooks to the portal.

Every step looks for its result first, so a second `make run` adds nothing.
"""
