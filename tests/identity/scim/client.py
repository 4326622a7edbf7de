"""An identity provider's SCIM client for the tests: bearer token, application/scim+json."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class SCIM:
    """An IdP's SCIM client: bearer token, application/scim+json."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = getattr(self.client, method)(
            f"/scim/v2/{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/scim+json",
            **self.headers,
        )
        assert response.status_code == status, (response.status_code, response.content[:2000])
        return json.loads(response.content) if response.content else None
