"""The task page and an open page's poll on the real sidecar: what they read, in how many calls, and an ended
session still ends."""

from __future__ import annotations

from tests.integration.boards import user_id_of
from tests.integration.test_account_sessions import PASSWORD, second_session, signed_out
from tests.integration.test_list_reads import sidecar_calls  # noqa: F401  (fixture)


def test_a_poll_answered_304_is_one_sidecar_call(user, sidecar_calls):  # noqa: F811
    url = f"/boards/{user_id_of(user)}/changes"
    etag = user.get(url).headers["ETag"]
    sidecar_calls.clear()
    resp = user.get(url, headers={"If-None-Match": etag})
    assert resp.status_code == 304
    assert [name for name, _ in sidecar_calls] == ["get_many"], sidecar_calls
    assert any(key.startswith("user:") for key in sidecar_calls[0][1])  # the session's generation, read with it


def test_a_poll_of_a_session_signed_out_elsewhere_is_signed_out(app, user):
    other = second_session(app, user)
    url = f"/boards/{user_id_of(user)}/changes"
    assert other.get(url).status_code == 200
    assert user.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD}).status_code == 302
    assert signed_out(other, url)
    assert user.get(url).status_code == 200  # the session that asked stays


def test_the_task_page_answers_a_personal_board_from_the_account_read_with_its_data(user, sidecar_calls):  # noqa: F811
    task_id = user.create_task(title="Read me")
    assert user.get(f"/tasks/{task_id}").status_code == 200
    sidecar_calls.clear()
    assert user.get(f"/tasks/{task_id}").status_code == 200
    assert [name for name, _ in sidecar_calls] == ["get_many"] * 3, sidecar_calls  # session check, task, the rest
    assert any(key.startswith("user:") for key in sidecar_calls[2][1])


def test_the_task_page_of_a_session_signed_out_elsewhere_is_signed_out(app, user):
    other = second_session(app, user)
    task_id = user.create_task(title="Keep me")
    assert other.get(f"/tasks/{task_id}").status_code == 200
    assert user.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD}).status_code == 302
    assert signed_out(other, f"/tasks/{task_id}")
    assert user.get(f"/tasks/{task_id}").status_code == 200
