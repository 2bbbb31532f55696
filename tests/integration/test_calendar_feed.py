"""The calendar feed and the colour scheme on the real stack: a feed URL made, read without a session, parsed
with icalendar, replaced and revoked from Settings; one person's feeds are theirs alone."""

from __future__ import annotations

import re

from icalendar import Calendar

from tests.conftest import Browser
from tests.integration.boards import board_task, make_team, user_id_of


def _feed_urls(user: Browser) -> list[str]:
    html = user.get("/settings").get_data(as_text=True)
    return re.findall(r'<code class="feed-url">http://[^/]+(/calendar/[^<]+\.ics)</code>', html)


def _feed_ids(user: Browser) -> list[str]:
    return re.findall(r'/settings/calendar/([0-9a-f]+)/revoke', user.get("/settings").get_data(as_text=True))


def _events(client, url: str) -> dict[str, object]:
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "text/calendar", resp.status_code
    assert resp.headers["Cache-Control"] == "no-store"
    return {str(e["summary"]): e for e in Calendar.from_ical(resp.get_data()).walk("VEVENT")}


def test_a_feed_made_on_settings_is_read_without_a_session_replaced_and_revoked(app):
    team = make_team(app)
    editor_id = user_id_of(team.editor)
    board_task(team.owner, team.board_id, title="Shared deadline", assignee=editor_id, due_at="2031-03-01T10:00",
               recurrence="monthly")
    team.editor.create_task(title="Personal deadline", due_at="2031-03-02T10:00")
    team.editor.create_task(title="No date at all")
    board_task(team.owner, team.board_id, title="The owner's", due_at="2031-03-03T10:00")

    resp = team.editor.form_post("/settings/calendar", {"board": ""}, page_url="/settings")
    assert resp.status_code == 302
    resp = team.editor.form_post("/settings/calendar", {"board": team.board_id}, page_url="/settings")
    assert resp.status_code == 302
    board_feed, every_board = _feed_urls(team.editor)  # newest first
    anonymous = app.test_client()
    events = _events(anonymous, every_board)
    assert set(events) == {"Shared deadline", "Personal deadline"}
    assert "RRULE" in events["Shared deadline"] and str(events["Shared deadline"]["rrule"].to_ical()) == "b'FREQ=MONTHLY'"
    assert set(_events(anonymous, board_feed)) == {"Shared deadline"}
    uid = str(events["Shared deadline"]["uid"])
    assert str(_events(anonymous, every_board)["Shared deadline"]["uid"]) == uid  # stable across reads

    old = every_board
    every_board_id = _feed_ids(team.editor)[1]
    resp = team.editor.form_post(f"/settings/calendar/{every_board_id}/replace", {}, page_url="/settings")
    assert resp.status_code == 302
    assert anonymous.get(old).status_code == 404
    new = [u for u in _feed_urls(team.editor) if u != board_feed]
    assert len(new) == 1 and set(_events(anonymous, new[0])) == {"Shared deadline", "Personal deadline"}

    for feed_id in _feed_ids(team.editor):
        assert team.editor.form_post(f"/settings/calendar/{feed_id}/revoke", {}, page_url="/settings").status_code == 302
    assert anonymous.get(new[0]).status_code == 404 and anonymous.get(board_feed).status_code == 404
    assert _feed_urls(team.editor) == []
    assert anonymous.get("/calendar/not-a-secret.ics").status_code == 404


def test_feeds_are_their_owners_alone(app):
    team = make_team(app)
    resp = team.owner.form_post("/settings/calendar", {"board": ""}, page_url="/settings")
    assert resp.status_code == 302
    (feed_id,) = _feed_ids(team.owner)
    for action in ("revoke", "replace"):
        resp = team.outsider.form_post(f"/settings/calendar/{feed_id}/{action}", {}, page_url="/settings")
        assert resp.status_code == 404
    # A board the person is not on cannot be chosen.
    resp = team.outsider.form_post("/settings/calendar", {"board": team.board_id}, page_url="/settings")
    assert resp.status_code == 302 and _feed_ids(team.outsider) == []
    assert len(_feed_urls(team.owner)) == 1


def test_a_removed_member_s_feed_no_longer_shows_the_board(app):
    team = make_team(app)
    viewer_id = user_id_of(team.viewer)
    board_task(team.owner, team.board_id, title="Viewer's due", assignee=viewer_id, due_at="2031-04-01T10:00")
    team.viewer.form_post("/settings/calendar", {"board": team.board_id}, page_url="/settings")
    (url,) = _feed_urls(team.viewer)
    assert set(_events(app.test_client(), url)) == {"Viewer's due"}
    html = team.owner.get(f"/boards/{team.board_id}/members").get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]*)"', html).group(1)
    team.owner.form_post(f"/boards/{team.board_id}/members/{viewer_id}/remove", {"version": version},
                         page_url=f"/boards/{team.board_id}/members")
    assert _events(app.test_client(), url) == {}


def test_the_colour_scheme_is_kept_per_person_and_set_on_every_page(app, user, other_user):
    assert 'data-theme=' not in user.get("/tasks").get_data(as_text=True)  # system: the browser decides
    resp = user.form_post("/settings/theme", {"theme": "dark"}, page_url="/settings")
    assert resp.status_code == 302
    assert '<html lang="en" data-theme="dark">' in user.get("/my").get_data(as_text=True)
    checked = re.findall(r'<input[^>]*\bchecked\b[^>]*>', user.get("/settings").get_data(as_text=True))
    assert len(checked) == 1 and 'value="dark"' in checked[0]
    assert 'data-theme=' not in other_user.get("/tasks").get_data(as_text=True)
    # Kept on the account: the next sign-in brings it back.
    user.form_post("/logout", {}, page_url="/settings")
    user.form_post("/login", {"username": user.username, "password": "correct horse battery"})
    assert 'data-theme="dark"' in user.get("/tasks").get_data(as_text=True)
    resp = user.form_post("/settings/theme", {"theme": "purple"}, page_url="/settings")
    assert resp.status_code == 302 and 'data-theme="dark"' in user.get("/tasks").get_data(as_text=True)
