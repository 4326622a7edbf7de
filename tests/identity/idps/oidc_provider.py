"""A local OpenID Connect provider built on Authlib's Flask server, run as its own process.

Discovery, authorization code with PKCE (S256 required), RS256-signed ID tokens with a
`groups` claim, userinfo and JWKS. Test-only control endpoints under /_test/ add users,
change their groups and switch on faults (a wrong audience). Start it with
`python -m tests.identity.idps.oidc_provider --port N --client-id ID --client-secret S`.
"""

from __future__ import annotations

import argparse
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey


@dataclass
class User:
    sub: str
    username: str
    password: str
    email: str
    name: str
    groups: list[str] = field(default_factory=list)


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email", "groups"}
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Only loopback callbacks (the portal under test).
        return redirect_uri.startswith(("http://127.0.0.1:", "http://localhost:"))

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


@dataclass
class Token:
    access_token: str
    scope: str
    user: User
    client_id: str
    issued_at: int
    expires_in: int

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> User:
        return self.user

    def get_client(self) -> Client:
        return STATE["clients"][self.client_id]


class RequiredCodeChallenge(CodeChallenge):
    """PKCE for every client, confidential ones too (Authlib only insists for public ones)."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256)")
        if grant.request.payload.data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted")
        super().validate_code_challenge(grant, redirect_uri)


STATE: dict[str, Any] = {"users": {}, "clients": {}, "codes": {}, "tokens": {}, "faults": {}}
KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-test-1", "use": "sig", "alg": "RS256"})
# The `wrong_key` fault signs ID tokens with this one under KEY's kid: a forged signature.
FORGER = RSAKey.generate_key(2048, parameters={"kid": "idp-test-1", "use": "sig", "alg": "RS256"})


def claims_of(user: User, scope: str) -> dict[str, Any]:
    info = {"sub": user.sub, "preferred_username": user.username}
    if "profile" in scope:
        info["name"] = user.name
    if "email" in scope:
        info.update(email=user.email, email_verified=True)
    info["groups"] = list(user.groups)
    return info


def create_app(issuer: str) -> Flask:
    app = Flask(__name__)
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = True

    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            STATE["codes"][code] = Code(
                code=code,
                client_id=req.client.client_id,
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                user=req.user,
                nonce=req.payload.data.get("nonce"),
                code_challenge=req.payload.data.get("code_challenge"),
                code_challenge_method=req.payload.data.get("code_challenge_method"),
                auth_time=int(time.time()),
            )

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            item = STATE["codes"].get(code)
            return item if item and item.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            STATE["codes"].pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> User:
            return authorization_code.user

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce: str, req: Any) -> bool:
            return any(c.nonce == nonce for c in STATE["codes"].values())

        def resolve_client_private_key(self, client: Client) -> Any:
            return FORGER if STATE["faults"].get("wrong_key") else KEY

        def get_client_algorithm(self, client: Client) -> str:
            return "RS256"

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": "RS256", "kid": KEY.kid or ""}

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            audience = STATE["faults"].get("audience") or client.client_id
            return {"iss": issuer, "aud": [audience], "exp": int(time.time()) + 600}

        def generate_user_info(self, user: User, scope: str) -> UserInfo:
            return UserInfo(claims_of(user, scope))

    def save_token(token: dict[str, Any], req: Any) -> None:
        STATE["tokens"][token["access_token"]] = Token(
            access_token=token["access_token"],
            scope=token.get("scope", ""),
            user=req.user,
            client_id=req.client.client_id,
            issued_at=int(time.time()),
            expires_in=int(token.get("expires_in", 3600)),
        )

    server = AuthorizationServer(
        app, query_client=lambda cid: STATE["clients"].get(cid), save_token=save_token
    )
    server.register_grant(
        AuthorizationCodeGrant, [IdToken(require_nonce=False), RequiredCodeChallenge(required=True)]
    )

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string: str) -> Token | None:
            return STATE["tokens"].get(token_string)

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(Validator())

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            userinfo_endpoint=f"{issuer}/userinfo",
            jwks_uri=f"{issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            scopes_supported=["openid", "profile", "email", "groups"],
            token_endpoint_auth_methods_supported=["client_secret_post", "client_secret_basic"],
            code_challenge_methods_supported=["S256"],
            claims_supported=["sub", "email", "name", "preferred_username", "groups"],
        )

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(keys=[KEY.as_dict(private=False)])

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        if request.method == "GET":
            query = request.query_string.decode()
            return (
                "<!doctype html><title>Test IdP sign-in</title><h1>Test IdP</h1>"
                f'<form method="post" action="/authorize?{html.escape(query)}">'
                '<label>Username <input name="username" id="username"></label>'
                '<label>Password <input name="password" id="password" type="password"></label>'
                '<button type="submit" id="sign-in">Sign in</button></form>'
            )
        user = STATE["users"].get(request.form.get("username", ""))
        if user is None or not secrets.compare_digest(
            user.password, request.form.get("password", "")
        ):
            return "wrong username or password", 401
        return server.create_authorization_response(grant_user=user)

    @app.post("/token")
    def issue_token() -> Any:
        return server.create_token_response()

    @app.route("/userinfo", methods=["GET", "POST"])
    @require_oauth("openid")
    def userinfo() -> Any:
        from authlib.integrations.flask_oauth2 import current_token

        return jsonify(claims_of(current_token.user, current_token.scope))

    @app.post("/_test/users")
    def put_user() -> Any:
        data = request.get_json(force=True)
        user = User(
            sub=data.get("sub") or data["username"],
            username=data["username"],
            password=data["password"],
            email=data.get("email", f"{data['username']}@example.com"),
            name=data.get("name", data["username"].title()),
            groups=list(data.get("groups", [])),
        )
        STATE["users"][user.username] = user
        return jsonify(ok=True)

    @app.post("/_test/faults")
    def set_faults() -> Any:
        STATE["faults"] = request.get_json(force=True)
        return jsonify(ok=True)

    @app.get("/_test/health")
    def health() -> Any:
        return jsonify(ok=True)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    STATE["clients"][args.client_id] = Client(args.client_id, args.client_secret)
    app = create_app(issuer)
    app.run(host="127.0.0.1", port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
