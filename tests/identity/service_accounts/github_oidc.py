"""A GitHub-Enterprise-shaped OIDC issuer for the exchange tests: an RSA key set served over
real HTTP on loopback, tokens signed with PyJWT; and the exchange endpoint's client."""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from tests.helpers import bearer  # noqa: F401 - the tests here import it from this module

AUDIENCE = "https://idp.example.test"
# GitHub's numeric ids of acme/payments-api and of acme (claims repository_id and
# repository_owner_id; GitHub sends them as strings).
REPOSITORY_ID = "700001"
OWNER_ID = "9001"


@dataclass
class Issuer:
    """A GitHub-Enterprise-shaped issuer on loopback: /_services/token/.well-known/jwks."""

    url: str
    key: Any
    kid: str
    served: list[str] = field(default_factory=list)

    def sign(self, *, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "repo:acme/payments-api:ref:refs/heads/main",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "repository": "acme/payments-api",
            "repository_id": REPOSITORY_ID,
            "repository_owner": "acme",
            "repository_owner_id": OWNER_ID,
            "ref": "refs/heads/main",
            "run_id": "4242",
            "actor": "octocat",
            "job_workflow_ref": "acme/payments-api/.github/workflows/deploy.yml@refs/heads/main",
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


@functools.cache
def _issuer_key() -> Any:
    """The issuers' signing key, made once per process (a 2048-bit key takes a tenth of a
    second); each issuer still names it with a fresh key id on its own port."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextmanager
def serve_issuer() -> Iterator[Issuer]:
    """Serve a key set on a free loopback port until the block ends."""
    key = _issuer_key()
    kid = uuid.uuid4().hex[:12]
    body = json.dumps({"keys": [_jwk(key, kid)]}).encode()
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            served.append(self.path)
            if self.path != "/_services/token/.well-known/jwks":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/_services/token"
    try:
        yield Issuer(url=url, key=key, kid=kid, served=served)
    finally:
        server.shutdown()
        server.server_close()


def exchange(oidc_token: str) -> Any:
    return APIClient().post("/api/v1/auth/github-oidc/", {"token": oidc_token})
