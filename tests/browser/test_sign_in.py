from tests.browser_support import sign_in


def test_alice_signs_in_and_sees_only_her_team(page, alice, carol):
    sign_in(page, "alice", "pw-alice")
    assert page.locator("header.top").get_by_text("alice").is_visible()
    page.goto("/teams/")
    table = page.locator("main table")
    assert table.get_by_text("payments").count() >= 1
    assert table.get_by_text("search").count() == 0


def test_bad_password_shows_an_error(page, alice):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "/accounts/login" in page.url
    assert page.get_by_text("not correct", exact=False).count() >= 1
