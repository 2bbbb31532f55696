"""Operator pages: 404 to everyone but accounts granted with `flask grant-admin`, signed in or not."""

from __future__ import annotations

from tests.conftest import Browser, app_config, unique_name

PAGES = ["/admin/dead-letters", "/admin/nothing-here"]


def grant(app, username: str, command: str = "grant-admin"):
    return app.test_cli_runner().invoke(args=[command, username])


def test_anonymous_visitors_get_404_not_a_login_redirect(anonymous):
    for path in PAGES:
        resp = anonymous.get(path)
        assert resp.status_code == 404 and "Location" not in resp.headers, path
    resp = anonymous.client.post("/admin/dead-letters/abc/replay")  # no CSRF token: still nothing here
    assert resp.status_code == 404


def test_signed_in_users_without_the_right_get_404(user):
    for path in PAGES:
        assert user.get(path).status_code == 404, path
    assert user.client.post("/admin/dead-letters/abc/replay").status_code == 404
    assert "Dead letters" not in user.get("/tasks").get_data(as_text=True)


def test_grant_admin_opens_the_pages_and_revoke_admin_closes_them_at_once(app, user):
    result = grant(app, user.username)
    assert result.exit_code == 0 and "now an operator" in result.output
    assert user.get("/admin/dead-letters").status_code == 200  # no new sign-in needed
    assert "Dead letters" in user.get("/tasks").get_data(as_text=True)  # and the navigation says so
    assert user.client.post("/admin/dead-letters/abc/replay").status_code == 400  # an operator's form: CSRF
    result = grant(app, user.username, "revoke-admin")
    assert result.exit_code == 0 and "no longer" in result.output
    assert user.get("/admin/dead-letters").status_code == 404  # same session, right gone
    assert "Dead letters" not in user.get("/tasks").get_data(as_text=True)


def test_the_right_is_kept_across_sign_ins(app, user):
    grant(app, user.username)
    browser = Browser(app.test_client())
    browser.form_post("/login", {"username": user.username, "password": "correct horse battery"})
    assert browser.get("/admin/dead-letters").status_code == 200


def test_grant_admin_needs_an_existing_account(app):
    name = unique_name("ghost")
    result = grant(app, name)
    assert result.exit_code != 0 and "no account named" in result.output
    # Registering the name later gives no right: it was never stored.
    browser = Browser(app.test_client())
    browser.register(name)
    assert browser.get("/admin/dead-letters").status_code == 404


def test_a_configured_but_unclaimed_name_gives_no_admin_right(stack):
    from webapp.app import create_app
    name = unique_name("root")
    configured = create_app(app_config(stack, ADMIN_USERNAMES=name))
    browser = Browser(configured.test_client())
    browser.register(name)
    assert browser.get("/admin/dead-letters").status_code == 404
