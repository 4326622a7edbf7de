# The IDP image: portal (gunicorn), Celery worker and beat all run from it.
# Build: docker build -t idp .   Run: see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=idp.settings.production

WORKDIR /app

# git: docs builds and template sources clone repositories; gnupg and openssh-client
# verify template sources' signed tags.
RUN apt-get update && apt-get install -y --no-install-recommends git gnupg openssh-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md manage.py ./
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
RUN IDP_SECRET_KEY="collectstatic-only-not-a-runtime-key-0123456789abcdefghijklmnop" \
    python manage.py collectstatic --no-input \
    && useradd --create-home --uid 1000 idp \
    && mkdir -p /app/var/runs \
    && chown -R idp:idp /app/var

USER idp
EXPOSE 8000
CMD ["gunicorn", "idp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
