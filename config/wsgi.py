import os

from django.core.wsgi import get_wsgi_application

from idp import runenv

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
runenv.load()  # development settings only: a running `make run`'s broker and local AWS API
application = get_wsgi_application()
