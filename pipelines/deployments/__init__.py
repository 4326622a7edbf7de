"""Deployments the platform performs: a version of a service's artifact put on the runtime
its environment is bound to (a Lambda alias, an S3 site), as a job of idp/jobs.

- `actions`: bind a runtime, request, promote, roll back, approve or reject a deployment.
- `job`: the job kind and the worker's steps (credentials, target, final status).
- `targets`: what each runtime kind does with boto3.
- `logs`: the deployment's log, streamed as chunks the portal polls.
"""
