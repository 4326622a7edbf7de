"""Provisioning operations (contract; implemented by the provisioning work).

request_resource(*, actor, template, version, team, environment, name, parameters,
                 service=None, expires_at=None, idempotency_key=None) -> Resource
"""
