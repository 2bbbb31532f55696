"""A list page cut from rows kept in their sort order (``listing.rows_page`` on a shared index) is the page the
rows give unsorted: the same items in the same order, the same counts and tags."""

import random
from datetime import datetime, timedelta, timezone

from webapp.tasks import model
from webapp.tasks.model import ListQuery, TaskFields

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _tasks(n: int, rng: random.Random) -> list:
    tasks = []
    for i in range(n):
        fields = TaskFields(title=rng.choice(["alpha", "Beta", "gamma", "delta"]) + f" {rng.randint(0, 9)}",
                            priority=rng.choice(["low", "medium", "high"]),
                            tags=tuple(rng.sample(["home", "work", "money", "x"], rng.randint(0, 2))),
                            due_at=NOW + timedelta(hours=rng.randint(-50, 50)) if rng.random() < 0.6 else None)
        tasks.append(model.new_task("u1", fields, NOW - timedelta(minutes=rng.randint(0, 5))))  # ties on purpose
    return tasks


def test_presorted_rows_give_the_same_page_for_every_sort_filter_and_page():
    rng = random.Random(7)
    tasks = _tasks(120, rng)
    for sort in [*model.SORTS, "nonsense"]:
        ordered = tuple(model.in_order(tasks, sort))
        tags = model.all_tags(tasks)
        for query in [ListQuery(sort=sort, page=p, per_page=20) for p in (1, 3, 9)] + [
                ListQuery(sort=sort, tag="home"), ListQuery(sort=sort, priority="high", page=2, per_page=5),
                ListQuery(sort=sort, status="pending", tag="work")]:
            expected, got = model.select(tasks, query), model.select(ordered, query, in_sort_order=True, tags=tags)
            assert [t.id for t in got.items] == [t.id for t in expected.items], (sort, query)
            assert (got.total, got.page, got.pages, got.tags) == \
                (expected.total, expected.page, expected.pages, expected.tags)
            assert isinstance(got.items, list)
