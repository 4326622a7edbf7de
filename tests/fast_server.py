"""Live servers in the test process answer without the delayed-ACK pause.

Django's WSGI server (pytest-django's `live_server`, which the browser tests, the end-to-end
tests and the live contract run use) writes a response's headers and its body in two
`send()` calls. With Nagle's algorithm on, the body waits until the client acknowledges the
headers, and the client's TCP stack delays that acknowledgement: about 40 ms on every
request, on loopback too, against 2 to 6 ms for the request itself (the live contract run
alone sends over 5,000). TCP_NODELAY on the server's connections sends the body at once;
what is answered is the same. Processes a test starts (`manage.py runserver`, gunicorn)
are not changed by this.
"""

from __future__ import annotations

import pytest
from django.core.servers.basehttp import WSGIRequestHandler


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    # socketserver.StreamRequestHandler sets TCP_NODELAY on each connection when this is true.
    WSGIRequestHandler.disable_nagle_algorithm = True
