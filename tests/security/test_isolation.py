"""Authorization is membership: every route × every role (owner, editor, viewer, someone not on the board).

Each case acts on a shared board and its task as each role and asserts the status. Changes carry a stale
version ("0"), so a role that passes the check gets 409 and nothing changes, a viewer 403, and someone not
on the board 404, exactly as for a missing task. The suite stays exhaustive: a route of the app that is in
neither ``CASES`` nor ``NOT_BOARD_SCOPED`` fails ``test_every_route_has_a_case``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.conftest import csrf_token, without_csrf
from tests.integration.boards import Team, make_team, user_id_of
from tests.integration.test_api import make_token
from tests.integration.test_list_reads import sidecar_calls  # noqa: F401  (a fixture)
from webapp.background import PERIODIC
from webapp.tasks.store import task_key

ROLES = ("owner", "editor", "viewer", "outsider")
STALE = {"If-Match": '"0"'}
TASK_FORM = {"title": "x", "description": "", "status": "pending", "priority": "low", "tags": "", "due_at": "",
             "remind_at": "", "recurrence": "none", "estimate": "", "version": "0"}


def expect(owner: int, editor: int, viewer: int, outsider: int) -> dict[str, int]:
    return dict(zip(ROLES, (owner, editor, viewer, outsider)))


READ = expect(200, 200, 200, 404)
EDIT = expect(409, 409, 403, 404)  # a change at a stale version: allowed roles reach the version check
MANAGE = expect(409, 403, 403, 404)


@dataclass(frozen=True)
class Case:
    method: str
    rule: str  # as in the app's url_map
    path: str  # {task}, {board}, {member} (the editor's id), {me} (the caller's id), {tomb} (a deleted task)
    expected: dict[str, int]
    form: dict = field(default_factory=dict)  # a page's form (the CSRF token is added)
    json: dict | None = None  # an API call's body (bearer token of the role)
    headers: dict = field(default_factory=dict)
    hidden: str = ""  # text the outsider's answer must not contain

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")


CASES = [
    Case("GET", "/tasks/<task_id>", "/tasks/{task}", READ, hidden="Shared work"),
    Case("GET", "/tasks/<task_id>/edit", "/tasks/{task}/edit", expect(200, 200, 403, 404)),
    Case("POST", "/tasks/<task_id>/edit", "/tasks/{task}/edit", EDIT, form=TASK_FORM),
    Case("POST", "/tasks/<task_id>/complete", "/tasks/{task}/complete", EDIT, form={"version": "0"}),
    Case("POST", "/tasks/<task_id>/reopen", "/tasks/{task}/reopen", EDIT, form={"version": "0"}),
    Case("POST", "/tasks/<task_id>/delete", "/tasks/{task}/delete", EDIT, form={"version": "0"}),
    Case("POST", "/tasks/<task_id>/move", "/tasks/{task}/move", EDIT, form={"version": "0", "status": "completed"}),
    Case("POST", "/tasks/<task_id>/restore", "/tasks/{tomb}/restore", expect(302, 302, 403, 404)),
    Case("GET", "/tasks/new", "/tasks/new?board={board}", expect(200, 200, 403, 404)),
    # Watching is reading: every member may watch what they can read; the outsider gets 404.
    Case("POST", "/tasks/<task_id>/watch", "/tasks/{task}/watch", expect(302, 302, 302, 404), form={"watch": "1"}),
    Case("POST", "/tasks/new", "/tasks/new?board={board}", expect(422, 422, 403, 404), form={**TASK_FORM, "title": ""}),
    # Comments: editors and owners write (an empty one is a field error), only its author edits a comment (the
    # owner's, here), an owner or its author deletes it; a stale version reaches the conflict page.
    Case("POST", "/tasks/<task_id>/comments", "/tasks/{task}/comments", expect(422, 422, 403, 404),
         form={"text": "", "board": "{board}"}),
    Case("GET", "/tasks/<task_id>/comments/<comment_id>/edit", "/tasks/{task}/comments/{comment}/edit",
         expect(200, 403, 403, 404), hidden="Shared work"),
    Case("POST", "/tasks/<task_id>/comments/<comment_id>/edit", "/tasks/{task}/comments/{comment}/edit",
         expect(409, 403, 403, 404), form={"text": "changed", "version": "0"}),
    Case("POST", "/tasks/<task_id>/comments/<comment_id>/delete", "/tasks/{task}/comments/{comment}/delete",
         expect(409, 403, 403, 404), form={"version": "0"}),
    # The checklist: a blank item is a field error; a change to an item seen otherwise than it is, a conflict.
    Case("POST", "/tasks/<task_id>/checklist", "/tasks/{task}/checklist", expect(422, 422, 403, 404),
         form={"text": "", "version": "0"}),
    Case("POST", "/tasks/<task_id>/checklist/<item_id>", "/tasks/{task}/checklist/{item}", EDIT,
         form={"op": "tick", "seen": "000000000000", "version": "0"}),
    Case("GET", "/boards/<board_id>", "/boards/{board}", READ, hidden="Shared work"),
    Case("GET", "/boards/<board_id>/members", "/boards/{board}/members", READ, hidden="Team board"),
    Case("GET", "/boards/<board_id>/changes", "/boards/{board}/changes", READ, hidden="Shared work"),
    Case("POST", "/boards/<board_id>/members", "/boards/{board}/members", MANAGE,
         form={"username": "{outsider_name}", "role": "viewer", "version": "0"}),
    Case("POST", "/boards/<board_id>/members/<user_id>/role", "/boards/{board}/members/{member}/role", MANAGE,
         form={"role": "owner", "version": "0"}),
    Case("POST", "/boards/<board_id>/members/<user_id>/remove", "/boards/{board}/members/{member}/remove", MANAGE,
         form={"version": "0"}),
    Case("POST", "/boards/<board_id>/leave", "/boards/{board}/leave", expect(409, 409, 409, 404), form={"version": "0"}),
    Case("POST", "/boards/<board_id>/delete", "/boards/{board}/delete", MANAGE, form={"version": "0"}),
    # The caller's own pages: every role gets its own, and nothing of the board leaks into the outsider's.
    Case("GET", "/boards", "/boards", expect(200, 200, 200, 200), hidden="Team board"),
    Case("POST", "/boards", "/boards", expect(422, 422, 422, 422), form={"name": ""}),
    Case("GET", "/tasks", "/tasks", expect(200, 200, 200, 200), hidden="Shared work"),
    Case("GET", "/my", "/my", expect(200, 200, 200, 200), hidden="Shared work"),
    Case("GET", "/tasks", "/tasks?board={board}", READ, hidden="Shared work"),
    # The API, with each role's token.
    Case("GET", "/api/v1/tasks/<task_id>", "/api/v1/tasks/{task}", READ, hidden="Shared work"),
    Case("PUT", "/api/v1/tasks/<task_id>", "/api/v1/tasks/{task}", EDIT, json={"title": "x"}, headers=STALE),
    Case("PUT", "/api/v1/tasks/<task_id>/status", "/api/v1/tasks/{task}/status", EDIT, json={"status": "completed"},
         headers=STALE),
    Case("DELETE", "/api/v1/tasks/<task_id>", "/api/v1/tasks/{task}", EDIT, headers=STALE),
    Case("POST", "/api/v1/tasks/<task_id>/restore", "/api/v1/tasks/{tomb}/restore", expect(200, 200, 403, 404)),
    Case("GET", "/api/v1/tasks", "/api/v1/tasks", expect(200, 200, 200, 200), hidden="Shared work"),
    Case("POST", "/api/v1/tasks", "/api/v1/tasks", expect(422, 422, 422, 422), json={"title": ""}),
    Case("GET", "/api/v1/boards", "/api/v1/boards", expect(200, 200, 200, 200), hidden="Team board"),
    Case("POST", "/api/v1/boards", "/api/v1/boards", expect(422, 422, 422, 422), json={"name": ""}),
    Case("GET", "/api/v1/boards/<board_id>", "/api/v1/boards/{board}", READ, hidden="Team board"),
    Case("DELETE", "/api/v1/boards/<board_id>", "/api/v1/boards/{board}", MANAGE, headers=STALE),
    Case("GET", "/api/v1/boards/<board_id>/tasks", "/api/v1/boards/{board}/tasks", READ, hidden="Shared work"),
    Case("POST", "/api/v1/boards/<board_id>/tasks", "/api/v1/boards/{board}/tasks", expect(201, 201, 403, 404),
         json={"title": "Added through the API"}),
    Case("GET", "/api/v1/boards/<board_id>/members", "/api/v1/boards/{board}/members", READ),
    Case("POST", "/api/v1/boards/<board_id>/members", "/api/v1/boards/{board}/members", MANAGE,
         json={"username": "{outsider_name}", "role": "viewer"}, headers=STALE),
    Case("PUT", "/api/v1/boards/<board_id>/members/<user_id>", "/api/v1/boards/{board}/members/{member}", MANAGE,
         json={"role": "owner"}, headers=STALE),
    Case("DELETE", "/api/v1/boards/<board_id>/members/<user_id>", "/api/v1/boards/{board}/members/{member}",
         expect(409, 409, 403, 404), headers=STALE),  # the editor may leave (their own id): reaches the version
    Case("GET", "/api/v1/tasks/<task_id>/comments", "/api/v1/tasks/{task}/comments", READ, hidden="Shared work"),
    Case("POST", "/api/v1/tasks/<task_id>/comments", "/api/v1/tasks/{task}/comments", expect(201, 201, 403, 404),
         json={"text": "From the isolation matrix"}),  # a comment leaves the task's version as it is
    Case("PUT", "/api/v1/tasks/<task_id>/comments/<comment_id>", "/api/v1/tasks/{task}/comments/{comment}",
         expect(409, 403, 403, 404), json={"text": "changed"}, headers=STALE),
    Case("DELETE", "/api/v1/tasks/<task_id>/comments/<comment_id>", "/api/v1/tasks/{task}/comments/{comment}",
         expect(409, 403, 403, 404), headers=STALE),
]

# Routes not scoped to a board or task, each with why (their own tests cover them).
NOT_BOARD_SCOPED = {
    ("GET", "/"): "redirects to the list or the sign-in page",
    ("GET", "/login"): "sign-in", ("POST", "/login"): "sign-in",
    ("GET", "/register"): "registration", ("POST", "/register"): "registration",
    ("POST", "/logout"): "sign-out",
    ("GET", "/settings"): "the caller's settings", ("POST", "/settings"): "the caller's settings",
    ("POST", "/settings/tokens/<token_id>/revoke"): "the caller's tokens (tests/integration/test_api.py)",
    ("GET", "/account/two-factor"): "the caller's second factor (tests/integration/test_two_factor.py)",
    ("POST", "/account/two-factor"): "the caller's second factor",
    ("GET", "/login/two-factor"): "the second step of the session's own sign-in",
    ("POST", "/login/two-factor"): "the second step of the session's own sign-in",
    ("GET", "/login/oidc"): "single sign-on's start (tests/integration/test_sso.py)",
    ("GET", "/login/oidc/callback"): "single sign-on: the state in the session's own sign-in",
    ("GET", "/login/oidc/link"): "the identity verified in the session's own sign-in",
    ("POST", "/login/oidc/link"): "the identity verified in the session's own sign-in",
    ("GET", "/account/delete"): "the caller's own account (tests/integration/test_account_data.py)",
    ("POST", "/account/delete"): "the caller's own account",
    ("GET", "/account/export"): "the caller's own data (tests/integration/test_account_data.py)",
    ("POST", "/settings/theme"): "the caller's colour scheme (tests/integration/test_calendar_feed.py)",
    ("POST", "/settings/calendar"): "the caller's feeds: of boards they are on only (test_calendar_feed.py)",
    ("POST", "/settings/calendar/<feed_id>/replace"): "the caller's feeds (tests/integration/test_calendar_feed.py)",
    ("POST", "/settings/calendar/<feed_id>/revoke"): "the caller's feeds (tests/integration/test_calendar_feed.py)",
    ("GET", "/calendar/<secret>.ics"): "the secret is the credential; a removed member's feed drops the board "
                                       "(tests/integration/test_calendar_feed.py)",
    ("GET", "/notifications"): "the caller's inbox (tests/integration/test_events_and_inbox.py)",
    ("POST", "/notifications/read"): "the caller's inbox", ("POST", "/notifications/read-all"): "the caller's inbox",
    ("GET", "/admin/dead-letters"): "operators only (tests/integration/test_admin.py)",
    ("POST", "/admin/dead-letters/<letter_id>/replay"): "operators only",
    ("GET", "/api/v1/openapi.json"): "public document",
    ("GET", "/healthz"): "probe", ("GET", "/readyz"): "probe", ("GET", "/favicon.ico"): "static",
    ("GET", "/static/<path:filename>"): "static",
    ("GET", "/dapr/subscribe"): "the sidecar's (app token)", ("POST", "/events/<stream>"): "the sidecar's (app token)",
    ("POST", "/events/dead-letters"): "the sidecar's", ("POST", "/job/<name>"): "the sidecar's",
    ("POST", f"/<any({', '.join(PERIODIC)}):binding>"): "the sidecar's (one rule for every periodic binding)",
    # The caller's own account (tests/integration/test_account_sessions.py, test_account_mail.py and
    # test_account_isolation.py: one account's pages, links and changes never reach another's).
    ("GET", "/account/email"): "the caller's address", ("POST", "/account/email"): "the caller's address",
    ("GET", "/account/password"): "the caller's password", ("POST", "/account/password"): "the caller's password",
    ("GET", "/account/sign-out-everywhere"): "the caller's sessions",
    ("POST", "/account/sign-out-everywhere"): "the caller's sessions",
    ("GET", "/password-reset"): "anyone; the same answer for every name",
    ("POST", "/password-reset"): "anyone; the same answer for every name",
    ("GET", "/password-reset/<token>"): "the account the signed link names",
    ("POST", "/password-reset/<token>"): "the account the signed link names",
    ("GET", "/verify-email/<token>"): "the account the signed link names",
    ("GET", "/unsubscribe/<token>"): "the account the signed link names",
    ("POST", "/unsubscribe/<token>"): "the account the signed link names",
    ("GET", "/dapr/config"): "the sidecar's (app token)",
    ("PUT", "/actors/<actor_type>/<actor_id>/method/<method>"): "the sidecar's: a board actor's turn (app token)",
    ("DELETE", "/actors/<actor_type>/<actor_id>"): "the sidecar's (app token)",
}


def test_every_route_has_a_case(app):
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(c.method, c.rule) for c in CASES} | set(NOT_BOARD_SCOPED)
    assert routes - covered == set(), "a route has no isolation case: add it to CASES (or NOT_BOARD_SCOPED)"
    assert covered - routes == set(), "a case names a route the app does not have"


@pytest.fixture(scope="module")
def team(app) -> Team:
    team = make_team(app)
    team.tokens = {role: make_token(team.as_role(role), f"isolation-{role}") for role in ROLES}
    comment_url = f"/tasks/{team.task_id}/comments"
    assert team.owner.form_post(comment_url, {"text": "The owner's comment", "board": team.board_id},
                                page_url=f"/tasks/{team.task_id}").status_code == 302
    page = team.owner.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    team.comment_id = re.search(r'id="comment-([0-9a-f]+)"', page).group(1)
    team.item_id = "0" * 12  # no such checklist item: a change to it is a conflict, as for one changed meanwhile
    return team


def _tombstone(team: Team) -> str:
    """A task of the board just deleted (for the restore cases)."""
    from tests.integration.boards import board_task
    task_id = board_task(team.owner, team.board_id, title="Deleted for restoring")
    assert team.owner.action(task_id, "delete").status_code == 302
    return task_id


def _call(team: Team, case: Case, role: str):
    user = team.as_role(role)
    values = {"task": team.task_id, "board": team.board_id, "member": user_id_of(team.editor),
              "me": user_id_of(user), "outsider_name": team.outsider.username, "comment": team.comment_id,
              "item": team.item_id}
    if "{tomb}" in case.path:
        values["tomb"] = _tombstone(team)
    path = case.path.format(**values)
    if case.api:
        body = {k: v.format(**values) if isinstance(v, str) else v for k, v in (case.json or {}).items()}
        headers = {"Authorization": f"Bearer {team.tokens[role]}", **case.headers}
        return getattr(user.client, case.method.lower())(path, headers=headers,
                                                         json=body if case.json is not None else None)
    if case.method == "GET":
        return user.get(path)
    form = {k: v.format(**values) for k, v in case.form.items()}
    token = csrf_token(user.get("/settings").get_data(as_text=True))
    return user.client.post(path, data={"csrf_token": token, **form})


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method} {c.rule}" for c in CASES])
def test_each_role_gets_what_its_role_allows(team, case):
    for role in ROLES:
        resp = _call(team, case, role)
        assert resp.status_code == case.expected[role], (role, resp.get_data(as_text=True)[:500])
        if role == "outsider" and case.hidden:
            assert case.hidden not in resp.get_data(as_text=True)
    # Nothing changed: the task is where it was, at its version.
    page = team.owner.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    assert "Shared work" in page and re.search(r'name="version" value="1"', page)


def test_an_outsiders_answer_is_the_same_as_for_nothing_there(team):
    outsider = team.outsider
    outsider.get("/tasks")  # consume the welcome flash
    for theirs, missing in ((f"/tasks/{team.task_id}", "/tasks/" + "0" * 32),
                            (f"/boards/{team.board_id}", "/boards/b_" + "0" * 32),
                            (f"/boards/{team.board_id}/members", "/boards/b_" + "0" * 32 + "/members"),
                            (f"/boards/{team.board_id}/changes", "/boards/b_" + "0" * 32 + "/changes")):
        a, b = outsider.get(theirs), outsider.get(missing)
        assert a.status_code == b.status_code == 404
        assert without_csrf(a.get_data(as_text=True)) == without_csrf(b.get_data(as_text=True))


def test_an_outsider_searching_a_board_reads_none_of_its_documents(team, sidecar_calls):  # noqa: F811
    """The membership is checked with the board's index (one read) before a search reads its tasks."""
    calls = sidecar_calls
    team.outsider.get("/tasks")  # consume the welcome flash
    for url in (f"/tasks?board={team.board_id}&q=Shared", f"/tasks?board={team.board_id}"):
        calls.clear()
        resp = team.outsider.get(url)
        assert resp.status_code == 404
        assert "Shared work" not in resp.get_data(as_text=True)
        read = [key for _, keys in calls for key in keys]
        assert task_key(team.task_id) not in read, calls
        assert [name for name, _ in calls] == ["get_many"], calls
