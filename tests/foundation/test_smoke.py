from tests.utils import assert_error, assert_ok


def test_me_with_api_token(api_as, alice, carol):
    body = assert_ok(api_as(alice).get("/api/v1/me/"))
    assert body["user"]["username"] == "alice"
    assert body["teams"] == [{"slug": "payments", "name": "Payments", "role": "member"}]


def test_other_team_is_404(api_as, alice, carol):
    assert_error(api_as(alice).get("/api/v1/teams/search/"), 404)
