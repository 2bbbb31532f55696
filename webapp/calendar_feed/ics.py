"""My tasks with due dates as an iCalendar (RFC 5545) document, built with the ``icalendar`` library. No I/O.

Each open task with a due time is a VEVENT at that time, in the task's own zone (DTSTART with TZID and the
zone's VTIMEZONE), so a repeating task keeps its wall-clock time across DST changes exactly as the app
computes it (``webapp/recurrence.py``). A repeating task is one event with an RRULE whose UID is its series'
(the same across instances: completing one moves the event to the next occurrence instead of adding one).
Months are counted from the series' anchor and clamp to the month's end (Jan 31 → Feb 28 → Mar 31): for an
anchor on day 29–31 the rule is BYMONTHDAY=<day>,-1;BYSETPOS=1, which picks the same days.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from icalendar import Event, vRecur

from .. import timezones
from ..my_tasks.entries import MyTask

PRODID = "-//Taskboard//My tasks//EN"
FREQ = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}


@cache
def icalendar() -> ModuleType:
    """The ``icalendar`` package, imported by the first feed a process builds: about 80 modules and 2.6 MB that
    every gunicorn worker would otherwise hold (resident, counted in its RSS) for a route few requests take."""
    return importlib.import_module("icalendar")


def uid_of(mine: MyTask) -> str:
    """A UID that stays the same for the task (a series: across its instances)."""
    if mine.series_id and mine.task.recurrence in FREQ:
        return f"series-{mine.series_id}@taskboard"
    return f"task-{mine.task.id}@taskboard"


def rrule_of(recurrence: str, anchor_local: datetime) -> vRecur | None:
    """The RRULE of a recurrence counted from ``anchor_local`` (the series' first due time, in its zone)."""
    if recurrence not in FREQ:
        return None
    rule = {"FREQ": FREQ[recurrence]}
    if recurrence == "monthly" and anchor_local.day >= 29:
        rule.update(BYMONTHDAY=[anchor_local.day, -1], BYSETPOS=1)
    elif recurrence == "yearly" and (anchor_local.month, anchor_local.day) == (2, 29):
        rule.update(BYMONTH=2, BYMONTHDAY=[29, -1], BYSETPOS=1)
    return icalendar().vRecur(rule)


def event_of(mine: MyTask, board_name: str, url: str, stamp: datetime) -> Event:
    """The VEVENT of one task with a due time."""
    task = mine.task
    zone = timezones.zone(mine.timezone)
    event = icalendar().Event()
    event.add("uid", uid_of(mine))
    event.add("dtstamp", stamp)
    event.add("summary", task.title)
    event.add("dtstart", task.due_at.astimezone(zone))
    if task.estimate:
        event.add("duration", timedelta(minutes=task.estimate))
    event.add("last-modified", task.updated_at)
    event.add("sequence", task.revision)
    event.add("description", f"{board_name} · {url}")
    event.add("url", url)
    if task.tags:
        event.add("categories", list(task.tags))
    rule = rrule_of(task.recurrence, (mine.anchor_at or task.due_at).astimezone(zone))
    if rule is not None:
        event.add("rrule", rule)
    return event


def calendar(tasks: list[MyTask], board_names: dict[str, str], url_of: Callable[[str], str], stamp: datetime,
             name: str = "Taskboard: my tasks") -> bytes:
    """The feed: an event per task with a due time (``url_of(task id)``: its page), with the zones they use."""
    cal = icalendar().Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for mine in sorted(tasks, key=lambda m: (m.task.due_at or stamp, m.task.id)):
        if mine.task.due_at is not None:
            cal.add_component(event_of(mine, board_names.get(mine.board_id, ""), url_of(mine.task.id), stamp))
    cal.add_missing_timezones()
    return cal.to_ical()
