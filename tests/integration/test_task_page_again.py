"""The task page rendered again by another form's view (a comment's preview, a refused checklist item) shows the
task's facts and leaves the forms that were not submitted empty."""

from __future__ import annotations

import re


def _field_value(html: str, form_action: str, name: str) -> str:
    form = re.search(rf'<form[^>]*action="{re.escape(form_action)}".*?</form>', html, flags=re.S)
    assert form, form_action
    found = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*?(?:value="([^"]*)"[^>]*)?>([^<]*)', form[0])
    return (found[1] or found[2] or "").strip() if found else ""


def test_a_comment_preview_keeps_the_facts_and_an_empty_new_item(user):
    task_id = user.create_task(title="Facts stay", due_at="2031-05-06T10:00", estimate="2h")
    page = f"/tasks/{task_id}"
    preview = user.form_post(f"{page}/comments", {"text": "A *previewed* comment", "preview": "1"}, page_url=page)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<em>previewed</em>" in html
    assert "<dt>Due</dt>" in html and "2031" in html and "<dt>Estimate</dt>" in html
    assert _field_value(html, f"{page}/checklist", "text") == ""
    assert _field_value(html, f"{page}/comments", "text") == "A *previewed* comment"


def test_a_refused_item_keeps_the_facts_and_an_empty_comment(user):
    task_id = user.create_task(title="Facts stay too", due_at="2031-05-06T10:00")
    page = f"/tasks/{task_id}"
    refused = user.form_post(f"{page}/checklist", {"text": "x" * 201}, page_url=page)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "at most 200 characters" in html
    assert "<dt>Due</dt>" in html
    assert _field_value(html, f"{page}/comments", "text") == ""
