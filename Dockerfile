# The IDP image: portal (gunicorn), Celery worker and beat all run from it.
# Build: docker build -t idp .   Run: see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# git: docs builds and template sources clone repositories; gnupg and openssh-client
# verify template sources' signed tags.
RUN apt-get update && apt-get install -y --no-install-recommends git gnupg openssh-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md manage.py ./
COPY config ./config
COPY idp ./idp
COPY catalog ./catalog
COPY provisioning ./provisioning
COPY pipelines ./pipelines
COPY monitoring ./monitoring
COPY policies ./policies
COPY fleet ./fleet
RUN pip install .

COPY templates ./templates
COPY static ./static
COPY terraform_modules ./terraform_modules

# collectstatic needs settings to import; this key exists only for this build step.
# The processes run as idp (uid/gid 1000), which owns only what they write: the run
# directories and the provider cache (volumes in docker-compose.yml, emptyDirs in
# deploy/kubernetes). The code and the collected static files stay root's; /app/var is
# sticky, so idp may add files there (seed_demo's credentials) but not replace root's.
RUN IDP_SECRET_KEY="collectstatic-only-not-a-runtime-key-0123456789abcdefghijklmnop" \
    python manage.py collectstatic --no-input \
    && groupadd --gid 1000 idp \
    && useradd --create-home --uid 1000 --gid 1000 idp \
    && mkdir -p /app/var/runs /app/var/terraform-plugin-cache \
    && chown idp:idp /app/var/runs /app/var/terraform-plugin-cache \
    && chown root:idp /app/var && chmod 1775 /app/var

# Numeric, so that runtimes can check it is not root (Kubernetes' runAsNonRoot).
USER 1000:1000
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
