from django.apps import AppConfig


class WiringConfig(AppConfig):
    """The project's wiring: settings, urls, the Celery app, the demo and the commands that
    start the platform (`run_platform`) and seed it (`seed_demo`). It may import every app;
    no app imports it (the `apps` contract in `.importlinter`)."""

    name = "config"
    verbose_name = "Wiring"

    def ready(self) -> None:
        # Django's own web server (`make run`'s `runserver`, the tests' live servers) writes
        # a response's headers and body in two sends; with Nagle's algorithm on, the body
        # waits for the client's delayed ACK of the headers: ~40 ms on every request, on
        # loopback too. Sending at once answers the same, in 2-6 ms. gunicorn is untouched.
        from django.core.servers.basehttp import WSGIRequestHandler

        WSGIRequestHandler.disable_nagle_algorithm = True
