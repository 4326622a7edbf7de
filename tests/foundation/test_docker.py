"""docker-compose.yml and the Dockerfile (no Docker here: checked statically)."""

from __future__ import annotations

import re
from pathlib import Path

import dj_database_url
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def default(value: str) -> str:
    """The default of a ${VAR:-default} interpolation, as Compose would use it."""
    match = re.fullmatch(r"\$\{\w+:?-(.*)\}", value)
    return match.group(1) if match else value


def test_compose_has_every_service():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis", "moto"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["moto"]["image"].startswith("motoserver/moto")
    assert "gunicorn config.wsgi" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A config worker")
    assert services["beat"]["command"].startswith("celery -A config beat")
    assert "8000:8000" in services["web"]["ports"]


def test_compose_wires_the_environment():
    services = compose()["services"]
    for name in APP_SERVICES:
        service = services[name]
        env = {k: default(str(v)) for k, v in service["environment"].items()}
        assert service["env_file"] == ".env"  # IDP_SECRET_KEY lives there
        assert "IDP_SECRET_KEY" not in env
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        database = dj_database_url.parse(env["DATABASE_URL"])
        assert (database["ENGINE"], database["HOST"]) == (
            "django.db.backends.postgresql",
            "postgres",
        )
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["AWS_ENDPOINT_URL"] == "http://moto:5000"
        assert {"postgres", "redis", "moto"} <= set(service["depends_on"])
    pg = services["postgres"]["environment"]
    assert database["USER"] == pg["POSTGRES_USER"] and database["NAME"] == pg["POSTGRES_DB"]


def test_dockerfile_builds_from_slim_python_and_collects_static():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install ." in dockerfile
    assert "collectstatic --no-input" in dockerfile
    assert "USER 1000:1000" in dockerfile  # not root; numeric so runAsNonRoot can check it
    for path in ("config", "idp", "templates", "static", "terraform_modules", "manage.py"):
        assert path in dockerfile
    # Every app of the project is in the image (an app left out stops it at start).
    from django.conf import settings

    ours = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.M))
    assert ours <= copied, f"not copied into the image: {sorted(ours - copied)}"
    # Template sources verify signed tags with gpg or ssh-keygen.
    assert re.search(r"apt-get install .*\bgit\b.*\bgnupg\b.*\bopenssh-client\b", dockerfile)
