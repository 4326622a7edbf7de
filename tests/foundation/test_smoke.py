from tests.utils import assert_error, assert_ok


def test_me_with_api_token(api_as, alice, carol):
    body = assert_ok(api_as(alice).get("/api/v1/me/"))
    assert body["user"]["username"] == "alice"
    assert body["teams"] == [{"slug": "payments", "name": "Payments", "role": "member"}]


def test_other_team_is_404(api_as, alice, carol):
    assert_error(api_as(alice).get("/api/v1/teams/search/"), 404)


def test_djangos_web_server_sends_without_waiting_for_the_delayed_ack(live_server) -> None:
    """`make run` serves with `runserver`: its connections set TCP_NODELAY (config/apps.py),
    so a response's body is not held back ~40 ms behind its headers."""
    import socket
    import urllib.request

    from django.core.servers.basehttp import WSGIRequestHandler

    assert WSGIRequestHandler.disable_nagle_algorithm is True
    seen = []
    original = WSGIRequestHandler.setup

    def setup(handler: WSGIRequestHandler) -> None:
        original(handler)
        seen.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    WSGIRequestHandler.setup = setup  # type: ignore[method-assign]
    try:
        with urllib.request.urlopen(f"{live_server.url}/healthz") as response:
            assert response.status == 200
    finally:
        WSGIRequestHandler.setup = original  # type: ignore[method-assign]
    assert seen and all(seen), seen
