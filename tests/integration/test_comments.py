"""Comments on the real stack: mentions reach the member's inbox, followers hear of comments, authors edit and
delete their own, owners any; pages of 20; bad input gets field errors; 20 at once are 20 stored; the sidecar
calls of a comment and of the task page are counted."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import eventually
from tests.faults.test_faults import Http
from tests.integration.boards import board_task, make_team, user_id_of
from tests.integration.test_api import make_token
from tests.integration.test_list_reads import sidecar_calls  # noqa: F401  (a fixture)
from webapp.comments.model import PAGE_SIZE, TEXT_MAX
from webapp.tasks import store


@pytest.fixture(scope="module")
def team(app):
    return make_team(app, title="Talked over")


def comment(user, task_id: str, text: str, board: str | None = None, **extra):
    data = {"text": text, **({"board": board} if board else {}), **extra}
    return user.form_post(f"/tasks/{task_id}/comments", data, page_url=f"/tasks/{task_id}")


def inbox_text(user) -> str:
    return user.get("/notifications").get_data(as_text=True)


def comment_ids(html: str) -> list[str]:
    return re.findall(r'<li class="comment" id="comment-([0-9a-f]+)"', html)


def test_a_mention_reaches_the_member_and_the_followers_hear_of_it(app, team):
    task_id = board_task(team.owner, team.board_id, title="Plan the launch")  # its creator watches it
    text = f"Can you check the numbers, @{team.viewer.username}? Not @nobody_here, and not `@{team.owner.username}`."
    resp = comment(team.editor, task_id, text, board=team.board_id)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/tasks/{task_id}#comments")

    page = team.viewer.get(f"/tasks/{task_id}").get_data(as_text=True)
    viewer_id = user_id_of(team.viewer)
    assert f'<a class="mention" href="/boards/{team.board_id}/members#member-{viewer_id}" rel="nofollow noopener">' \
           f"@{team.viewer.username}</a>" in page
    assert "Not @nobody_here" in page and f"<code>@{team.owner.username}</code>" in page  # unknown, code: text
    assert 'action="/tasks/' + task_id + '/comments"' not in page  # a viewer reads, writes nothing
    eventually(lambda: f"{team.editor.username} mentioned you on “Plan the launch”." in inbox_text(team.viewer))
    eventually(lambda: f"{team.editor.username} commented on “Plan the launch”." in inbox_text(team.owner))
    # The task's history and the board's recent activity name it.
    eventually(lambda: f"Commented</strong> by {team.editor.username}" in team.owner.get(
        f"/tasks/{task_id}").get_data(as_text=True))
    board = team.owner.get(f"/boards/{team.board_id}").get_data(as_text=True)
    assert f"<strong>{team.editor.username}</strong> commented on “Plan the launch”" in board
    # The author hears nothing of their own comment; the one in code was not mentioned.
    assert "Plan the launch" not in inbox_text(team.editor)
    assert "mentioned you on “Plan the launch”" not in inbox_text(team.owner)
    # The version people edit at did not move: a comment is not a change of the task.
    assert team.owner.version_of(task_id) == "1"


def test_viewers_and_outsiders_cannot_comment(team):
    assert comment(team.viewer, team.task_id, "me too").status_code == 403
    outsider = team.outsider.client.post(f"/tasks/{team.task_id}/comments", data={"text": "hello"})
    assert outsider.status_code in (400, 404)


def test_bad_comments_get_field_errors_and_nothing_is_stored(team):
    task_id = board_task(team.owner, team.board_id, title="Bad input")
    for text, message in (("", "Write a comment."), ("   \n ", "Write a comment."),
                          ("x" * (TEXT_MAX + 1), f"A comment is at most {TEXT_MAX:,} characters.")):
        resp = comment(team.editor, task_id, text, board=team.board_id)
        assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert comment(team.editor, task_id, "x" * TEXT_MAX, board=team.board_id).status_code == 302
    assert len(comment_ids(team.editor.get(f"/tasks/{task_id}").get_data(as_text=True))) == 1


def test_a_preview_renders_the_markdown_and_stores_nothing(team):
    task_id = board_task(team.owner, team.board_id, title="Previewed")
    resp = comment(team.editor, task_id, "**bold** <script>alert(1)</script>", board=team.board_id, preview="1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<strong>bold</strong> &lt;script&gt;" in html and "<script>alert" not in html
    assert comment_ids(html) == []


def test_authors_edit_and_delete_their_own_and_owners_delete_any(team):
    task_id = board_task(team.owner, team.board_id, title="Edited talk")
    assert comment(team.editor, task_id, "first thought", board=team.board_id).status_code == 302
    assert comment(team.owner, task_id, "the owner's", board=team.board_id).status_code == 302
    editors, owners = comment_ids(team.owner.get(f"/tasks/{task_id}").get_data(as_text=True))[::-1]
    edit_url = f"/tasks/{task_id}/comments/{editors}/edit"

    assert team.owner.get(edit_url).status_code == 403  # only its author edits it
    assert team.viewer.get(edit_url).status_code == 403
    page = team.editor.get(edit_url).get_data(as_text=True)
    assert "first thought" in page
    assert team.editor.form_post(edit_url, {"text": "second thought", "version": "1"}).status_code == 302
    html = team.owner.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "second thought" in html and "edited</span>" in html and "first thought" not in html
    # A change made from the first version is stale: the conflict page, nothing overwritten.
    stale = team.editor.form_post(edit_url, {"text": "third thought", "version": "1"})
    assert stale.status_code == 409 and "second thought" in stale.get_data(as_text=True)
    assert "third thought" not in team.owner.get(f"/tasks/{task_id}").get_data(as_text=True)

    delete = f"/tasks/{task_id}/comments/{owners}/delete"
    assert team.editor.form_post(delete, {"version": "1"}, page_url=f"/tasks/{task_id}").status_code == 403
    assert team.owner.form_post(f"/tasks/{task_id}/comments/{editors}/delete", {"version": "2"},
                                page_url=f"/tasks/{task_id}").status_code == 302  # an owner deletes any
    assert team.editor.form_post(edit_url, {"text": "back?", "version": "2"}).status_code == 404
    assert comment_ids(team.owner.get(f"/tasks/{task_id}").get_data(as_text=True)) == [owners]


def test_comments_come_newest_first_a_page_at_a_time(user):
    task_id = user.create_task(title="Long thread")
    for n in range(PAGE_SIZE + 3):
        assert comment(user, task_id, f"note number {n}").status_code == 302
    first = user.get(f"/tasks/{task_id}").get_data(as_text=True)
    second = user.get(f"/tasks/{task_id}?comments=2").get_data(as_text=True)
    assert len(comment_ids(first)) == PAGE_SIZE and len(comment_ids(second)) == 3
    assert first.index(f"note number {PAGE_SIZE + 2}<") < first.index(f"note number {PAGE_SIZE + 1}<")
    assert "note number 0<" in second and "Page 2 of 2" in second and "note number 0<" not in first


def test_a_comment_costs_three_sidecar_calls_and_the_task_page_one_bulk_read_more(team, sidecar_calls):  # noqa: F811
    task_id = board_task(team.owner, team.board_id, title="Counted talk")
    before = _page_calls(team.editor, task_id, sidecar_calls)
    token_page = team.editor.get(f"/tasks/{task_id}").get_data(as_text=True)
    from tests.conftest import csrf_token
    token = csrf_token(token_page)
    sidecar_calls.clear()
    resp = team.editor.client.post(f"/tasks/{task_id}/comments", data={
        "csrf_token": token, "text": f"counted @{team.viewer.username}", "board": team.board_id})
    assert resp.status_code == 302
    calls = [name for name, _ in sidecar_calls]
    print(f"\nsidecar calls of a comment with a mention: {calls}")
    assert calls == ["get_many", "transact", "publish"]
    after = _page_calls(team.editor, task_id, sidecar_calls)
    print(f"task page: {len(before)} calls without comments, {len(after)} with: {after}")
    assert Counter(after) - Counter(before) == Counter(get_many=1) and len(after) == len(before) + 1


def _page_calls(user, task_id: str, calls: list) -> list[str]:
    user.get(f"/tasks/{task_id}")  # a flash goes
    calls.clear()
    assert user.get(f"/tasks/{task_id}").status_code == 200
    return [name for name, _ in calls]


def test_twenty_people_commenting_at_once_are_twenty_comments(app, stack, user):
    task_id = user.create_task(title="Busy thread")
    http = Http(stack.url(), make_token(user, "comments"))
    marker = uuid.uuid4().hex[:6]

    def post(n):
        return http.call("POST", f"/api/v1/tasks/{task_id}/comments", {"text": f"{marker} #{n}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))
    assert [status for status, _, _ in answers] == [201] * 20, answers
    status, listed, _ = http.call("GET", f"/api/v1/tasks/{task_id}/comments")
    assert status == 200 and listed["total"] == 20
    assert sorted(c["text"] for c in listed["items"]) == sorted(f"{marker} #{n}" for n in range(20))
    with app.app_context():
        assert len(store.load(user_id_of(user), task_id).comments) == 20


def test_the_api_lists_adds_changes_and_deletes_comments(user):
    token = make_token(user, "comment api")
    auth = {"Authorization": f"Bearer {token}"}
    task_id = user.create_task(title="API talk")
    client = user.client
    created = client.post(f"/api/v1/tasks/{task_id}/comments", json={"text": "Hello **there**"}, headers=auth)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    body = created.get_json()
    assert body["html"] == "<p>Hello <strong>there</strong></p>\n" and body["author"] == user.username
    assert client.post(f"/api/v1/tasks/{task_id}/comments", json={"text": " "}, headers=auth).status_code == 422
    url = f"/api/v1/tasks/{task_id}/comments/{body['id']}"
    assert client.put(url, json={"text": "x"}, headers=auth).status_code == 428
    changed = client.put(url, json={"text": "Changed"}, headers={**auth, "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["edited_at"] and changed.headers["ETag"] == '"2"'
    assert client.put(url, json={"text": "Again"}, headers={**auth, "If-Match": '"1"'}).status_code == 409
    listed = client.get(f"/api/v1/tasks/{task_id}/comments", headers=auth).get_json()
    assert [c["text"] for c in listed["items"]] == ["Changed"] and listed["pages"] == 1
    assert client.delete(url, headers={**auth, "If-Match": '"1"'}).status_code == 409
    assert client.delete(url, headers={**auth, "If-Match": '"2"'}).status_code == 204
    assert client.get(f"/api/v1/tasks/{task_id}/comments", headers=auth).get_json()["total"] == 0
    assert client.delete(url, headers={**auth, "If-Match": "*"}).status_code == 404
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tasks/{task_id}/comments"])
    assert {"put", "delete"} <= set(paths["/api/v1/tasks/{task_id}/comments/{comment_id}"])


def test_a_page_of_the_longest_comments_in_four_byte_characters_stays_far_under_the_message_limit(user, gateway):
    """Each comment is its own item (≤ 10,000 characters: 40 kB of emoji), so a page of 20 is ≈ 800 kB."""
    token = make_token(user, "long comments")
    task_id = user.create_task(title="Emoji thread")
    text = "🗂" * TEXT_MAX
    for _ in range(PAGE_SIZE):
        resp = user.client.post(f"/api/v1/tasks/{task_id}/comments", json={"text": text},
                                headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 201
    page = user.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and len(comment_ids(page.get_data(as_text=True))) == PAGE_SIZE
    task = gateway.get(store.task_key(task_id))
    items = gateway.get_many([f"comment:{task_id}:{cid}" for cid in task.value["comments"]])
    sizes = [item.size for item in items]
    print(f"\na page of {PAGE_SIZE} comments of {TEXT_MAX:,} emoji: {sum(sizes):,} bytes, "
          f"the task document {task.size:,} bytes")
    assert max(sizes) < 41_000 and sum(sizes) < 1024 * 1024 and task.size < 4096
