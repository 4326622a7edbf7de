"""The `idp` command: a client of the REST API (it never imports the Django project)."""
