"""A GitHub-shaped OAuth server (GitHub Enterprise layout: web flow at /login/oauth/…, the
API under /api/v3) for signing in with allauth's GitHub provider, run as its own process.
Start it with `python -m tests.identity.idps.github_oauth --port N --client-id ID
--client-secret S`; /_test/users adds people."""

from __future__ import annotations

import argparse
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request

STATE: dict[str, Any] = {"users": {}, "codes": {}, "tokens": {}}


def create_app(client_id: str, client_secret: str) -> Flask:
    app = Flask(__name__)

    @app.get("/login/oauth/authorize")
    def authorize_page() -> Any:
        if request.args.get("client_id") != client_id:
            return "unknown client", 404
        return (
            "<!doctype html><title>Sign in to GitHub</title><h1>Sign in to GitHub</h1>"
            f'<form method="post" action="/session?{request.query_string.decode()}">'
            '<label>Username <input name="login" id="username"></label>'
            '<label>Password <input name="password" id="password" type="password"></label>'
            '<button type="submit" id="sign-in">Sign in</button></form>'
        )

    @app.post("/session")
    def session() -> Any:
        user = STATE["users"].get(request.form.get("login", ""))
        if user is None or user["password"] != request.form.get("password"):
            return "Incorrect username or password.", 401
        code = secrets.token_hex(10)
        STATE["codes"][code] = user["login"]
        query = urlencode({"code": code, "state": request.args.get("state", "")})
        return redirect(f"{request.args['redirect_uri']}?{query}")

    @app.post("/login/oauth/access_token")
    def access_token() -> Any:
        form = request.form
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return jsonify(error="incorrect_client_credentials")
        login = STATE["codes"].pop(form.get("code", ""), None)
        if login is None:
            return jsonify(error="bad_verification_code")
        token = "gho_" + secrets.token_hex(16)
        STATE["tokens"][token] = login
        return jsonify(access_token=token, token_type="bearer", scope="read:user,user:email")

    def current() -> dict[str, Any] | None:
        token = request.headers.get("Authorization", "").removeprefix("token ").strip()
        login = STATE["tokens"].get(token)
        return STATE["users"].get(login) if login else None

    @app.get("/api/v3/user")
    def user() -> Any:
        if (u := current()) is None:
            return jsonify(message="Bad credentials"), 401
        return jsonify(
            login=u["login"],
            id=u["id"],
            name=u["name"],
            email=None,
            type="User",
            html_url=f"{request.host_url}{u['login']}",
        )

    @app.get("/api/v3/user/emails")
    def emails() -> Any:
        if (u := current()) is None:
            return jsonify(message="Bad credentials"), 401
        return jsonify([{"email": u["email"], "primary": True, "verified": True}])

    @app.post("/_test/users")
    def put_user() -> Any:
        data = request.get_json(force=True)
        data.setdefault("id", len(STATE["users"]) + 1000)
        STATE["users"][data["login"]] = data
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
    create_app(args.client_id, args.client_secret).run(
        host="127.0.0.1", port=args.port, threaded=True, use_reloader=False
    )


if __name__ == "__main__":
    main()
