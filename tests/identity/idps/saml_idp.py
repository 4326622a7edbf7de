"""A local SAML 2.0 identity provider built on pysaml2, run as its own process.

It signs assertions (RSA-SHA256, xmlsec1), reads the portal's SP metadata from the URL the
portal publishes, and sends e-mail, name and groups attributes. Test-only control
endpoints under /_test/ add users, load the SP metadata and switch on faults: signing with
a key the portal does not trust, an expired assertion, a wrong audience. Start it with
`python -m tests.identity.idps.saml_idp --port N --workdir DIR`.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import secrets
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, jsonify, request
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.assertion import Policy
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

STATE: dict[str, Any] = {"users": {}, "faults": {}, "sp_metadata": None, "pending": {}}

_conditions = Policy.conditions


def _conditions_with_fault(self: Policy, sp_entity_id: str) -> Any:
    # The "wrong audience" fault: an assertion addressed to another service provider.
    return _conditions(self, STATE["faults"].get("audience") or sp_entity_id)


Policy.conditions = _conditions_with_fault  # type: ignore[method-assign]


def make_keypair(workdir: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test idp {name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = workdir / f"{name}.key", workdir / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def create_app(base: str, workdir: Path) -> Flask:
    app = Flask(__name__)
    keys = {name: make_keypair(workdir, name) for name in ("idp", "rogue")}
    sp_metadata = workdir / "sp-metadata.xml"

    def server(signing: str = "idp", lifetime: dict[str, int] | None = None) -> Server:
        key_file, cert_file = keys[signing]
        conf: dict[str, Any] = {
            "entityid": f"{base}/metadata",
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]
                    },
                    "policy": {
                        "default": {
                            "lifetime": lifetime or {"minutes": 15},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_BASIC,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "want_authn_requests_signed": False,
                }
            },
            "key_file": str(key_file),
            "cert_file": str(cert_file),
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]),
            "metadata": {"local": [str(sp_metadata)]} if sp_metadata.exists() else {},
        }
        config = IdPConfig()
        config.load(conf)
        return Server(config=config)

    def cert_body(name: str) -> str:
        pem = keys[name][1].read_text()
        return "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)

    @app.get("/_test/health")
    def health() -> Any:
        return jsonify(
            entity_id=f"{base}/metadata", sso_url=f"{base}/sso/redirect", cert=cert_body("idp")
        )

    @app.post("/_test/sp")
    def load_sp() -> Any:
        url = request.get_json(force=True)["metadata_url"]
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        sp_metadata.write_bytes(response.content)
        return jsonify(ok=True)

    @app.post("/_test/users")
    def put_user() -> Any:
        data = request.get_json(force=True)
        STATE["users"][data["username"]] = data
        return jsonify(ok=True)

    @app.post("/_test/faults")
    def set_faults() -> Any:
        STATE["faults"] = request.get_json(force=True)
        return jsonify(ok=True)

    @app.get("/metadata")
    def metadata() -> Any:
        return (
            create_metadata_string(None, config=server().config, sign=False),
            200,
            {"Content-Type": "text/xml"},
        )

    @app.get("/sso/redirect")
    def sso() -> Any:
        idp = server()
        parsed = idp.parse_authn_request(request.args["SAMLRequest"], BINDING_HTTP_REDIRECT)
        key = secrets.token_urlsafe(16)
        STATE["pending"][key] = {
            "id": parsed.message.id,
            "sp": parsed.message.issuer.text,
            "acs": parsed.message.assertion_consumer_service_url,
            "relay_state": request.args.get("RelayState", ""),
        }
        return (
            "<!doctype html><title>Test SAML IdP</title><h1>Test SAML IdP</h1>"
            '<form method="post" action="/sso/login">'
            f'<input type="hidden" name="key" value="{key}">'
            '<label>Username <input name="username" id="username"></label>'
            '<label>Password <input name="password" id="password" type="password"></label>'
            '<button type="submit" id="sign-in">Sign in</button></form>'
        )

    @app.post("/sso/login")
    def login() -> Any:
        pending = STATE["pending"].pop(request.form.get("key", ""), None)
        user = STATE["users"].get(request.form.get("username", ""))
        if pending is None or user is None or user["password"] != request.form.get("password"):
            return "wrong username or password", 401
        faults = STATE["faults"]
        idp = server(
            signing="rogue" if faults.get("rogue_signature") else "idp",
            lifetime={"minutes": -30} if faults.get("expired") else None,
        )
        identity = {
            "uid": [user["username"]],
            "email": [user["email"]],
            "givenName": [user.get("given_name", "")],
            "sn": [user.get("surname", "")],
            "groups": list(user.get("groups", [])),
        }
        response = idp.create_authn_response(
            identity=identity,
            in_response_to=pending["id"],
            destination=pending["acs"],
            sp_entity_id=pending["sp"],
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=user["username"]),
            userid=user["username"],
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            },
            sign_assertion=True,
            sign_response=False,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        encoded = base64.b64encode(str(response).encode()).decode()
        return (
            '<!doctype html><title>Signing in…</title><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(pending["acs"])}">'
            f'<input type="hidden" name="SAMLResponse" value="{encoded}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(pending["relay_state"])}">'
            '<noscript><button type="submit">Continue</button></noscript></form></body>'
        )

    _ = BINDING_HTTP_POST
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    app = create_app(f"http://127.0.0.1:{args.port}", Path(args.workdir))
    app.run(host="127.0.0.1", port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
