"""Every field a user sets on a task, declared once (``FIELDS``). Pure: no Flask, WTForms or marshmallow.

The declaration drives the task's dataclasses and stored form (``model.py``),
the list rows (``rows.py``: fields with ``in_row``), the edit form
(``forms.py``), the API schemas (``api/schemas.py``) and the generic parts of
the templates (the detail page's facts, the conflict page's comparison, the
list row's extra line). The form's layout (``templates/tasks/_fields.html``)
stays explicit. A field's *kind* says how its values are stored (JSON), typed
as text (form and API), cleaned, shown and sorted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from ..timezones import IN_RANGE_PATTERN, RANGE_TEXT
from . import checklist

TITLE_MAX, DESCRIPTION_MAX, TAGS_MAX, TAG_MAX = 200, 5000, 10, 32


def same(value):
    """The value as it is (a kind whose stored, or typed, form is the value itself)."""
    return value


def _text_of(value) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Kind:
    """How values of one type are stored, read from text, cleaned, shown and sorted."""

    name: str
    type: Any
    to_json: Callable[[Any], Any] = same
    from_json: Callable[[Any], Any] = same
    parse: Callable[[str], Any] | None = None  # text (form, API) → value; ValueError says what is wrong
    pattern: str = ""  # the text ``parse`` accepts, as a regular expression (published in the OpenAPI document)
    text: Callable[[Any], str] = _text_of  # value → the text ``parse`` reads back
    show: Callable[[Any], str] = _text_of  # value → what pages show
    clean: Callable[[Any], Any] = same  # what a task keeps of a set value
    sort_key: Callable[[Any], Any] = same  # never called with None (those sort last)
    row_of: Callable[[Any], Any] | None = None  # what list rows keep of a value (JSON as it is); None: the value


def normalise_tags(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Split, trim, lower-case and de-duplicate tags, keeping their order."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for part in parts:
        tag = part.strip().lower()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def parse_tags(raw: str) -> tuple[str, ...]:
    """Tags typed as "work, home"; ``ValueError`` past ``TAGS_MAX`` tags or a tag over ``TAG_MAX`` characters."""
    tags = normalise_tags(raw or "")
    if len(tags) > TAGS_MAX:
        raise ValueError(f"At most {TAGS_MAX} tags.")
    too_long = [t for t in tags if len(t) > TAG_MAX]
    if too_long:
        raise ValueError(f"Each tag is at most {TAG_MAX} characters ({too_long[0][:40]!r} is longer).")
    return tags


_HOURS_1_TO_998 = "(?:[1-9][0-9]?|[1-8][0-9][0-9]|9[0-8][0-9]|99[0-8])"
DURATION_PATTERN = (  # exactly 1 minute to 999 hours: "2h", "1h30m", "45m" (also "1 h 30 min", "1H30M")
    r"^ *(?:999 *[hH](?: *0{1,2} *[mM](?:in)?)?"
    rf"|{_HOURS_1_TO_998} *[hH](?: *[0-5]?[0-9] *[mM](?:in)?)?"
    r"|[1-9][0-9]{0,2} *[mM](?:in)?) *$"
)
_DURATION = re.compile(DURATION_PATTERN)


def parse_duration(raw: str) -> int | None:
    """Minutes in "1h30m", "45m", "2h" (1 minute to 999 hours); None if blank; ``ValueError`` otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    if not _DURATION.match(text):
        raise ValueError("Write a duration like 1h30m, 45m or 2h (1 minute to 999 hours).")
    hours, minutes = re.search(r"([0-9]+) *[hH]", text), re.search(r"([0-9]+) *[mM]", text)
    return (int(hours[1]) * 60 if hours else 0) + (int(minutes[1]) if minutes else 0)


def duration_text(minutes: int | None) -> str:
    """Minutes as "1h30m" (what ``parse_duration`` reads back); "" for None."""
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest else "")


def show_duration(minutes: int | None) -> str:
    """Minutes as people read them: "1 h 30 min"."""
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


TEXT = Kind("text", str, clean=str.strip, sort_key=str.lower)
CHOICE = Kind("choice", str)
TAGS = Kind("tags", tuple[str, ...], to_json=list, from_json=tuple, parse=parse_tags, text=", ".join,
            show=", ".join, clean=normalise_tags)
DATETIME = Kind("datetime", datetime | None, to_json=_iso, from_json=_from_iso, show=_iso,
                pattern=IN_RANGE_PATTERN, sort_key=lambda value: value.replace(tzinfo=None))
MEMBER_PATTERN = r"^[0-9a-f]{0,64}$"  # a user id (hex); empty: nobody


def parse_member(raw: str | None) -> str | None:
    """A member's user id as typed (form, API); None if blank; ``ValueError`` if it cannot be a user id."""
    text = (raw or "").strip()
    if not text:
        return None
    if not re.fullmatch(MEMBER_PATTERN, text):
        raise ValueError("Choose a member of this board.")
    return text


# A member of the task's board, stored as their user id; pages show their name from the board record they read.
# Whether the id is a member is checked against that record by the views (``boards.access.check_assignee``).
MEMBER = Kind("member", str | None, parse=parse_member, pattern=MEMBER_PATTERN)
DURATION = Kind("duration", int | None, parse=parse_duration, pattern=DURATION_PATTERN,
                text=duration_text, show=show_duration)
# Ordered items (``checklist.ChecklistItem``); list rows keep only the progress [done, total], shown "3/5".
CHECKLIST = Kind("checklist", tuple, to_json=checklist.to_json, from_json=checklist.from_json,
                 show=checklist.progress_text, clean=checklist.cleaned, row_of=checklist.progress)


@dataclass(frozen=True)
class FieldSpec:
    """One user-settable task field: its value's kind, how people see it, where it appears."""

    name: str
    kind: Kind
    label: str  # the form's label
    default: Any = None
    heading: str = ""  # how pages name it (the detail page's facts, the conflict page); default: label
    required: str = ""  # the message when it is missing or blank; empty: optional
    max_length: int = 0  # of its text, if limited
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for a choice
    multiline: bool = False
    help: str = ""  # under the form control
    api_help: str = ""  # in the OpenAPI document
    badge: bool = False  # shown as a pill (status, priority)
    in_facts: bool = False  # in the detail page's facts
    in_list: bool = False  # on each list row's line (generic part)
    in_row: bool = False  # kept in the index's list rows: the list filters, sorts or shows it without reading tasks
    sort: str = ""  # the list's sort option on it, by that label
    in_form: bool = True  # on the edit form; if not, changed by its own forms, and None in ``TaskFields`` keeps it

    def __post_init__(self):
        if self.sort and not self.in_row:
            raise ValueError(f"{self.name}: the list sorts on rows, so a sortable field needs in_row")
        if self.in_list and not self.in_row:
            raise ValueError(f"{self.name}: the list renders from rows, so a field in_list needs in_row")

    @property
    def title(self) -> str:
        return self.heading or self.label

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def load(self, raw):
        """The value from its stored (JSON) form; the default when absent."""
        return self.default if raw is None else self.kind.from_json(raw)

    def dump(self, value):
        """The value in its stored (JSON) form."""
        return None if value is None else self.kind.to_json(value)

    def row_value(self, value):
        """What a list row keeps of ``value`` (and ``rows.Summary`` holds)."""
        return self.kind.row_of(value) if self.kind.row_of else value

    def dump_row(self, value):
        """A row's value (``row_value``) in its stored form."""
        return value if self.kind.row_of else self.dump(value)

    def load_row(self, raw):
        """A row's value from its stored form."""
        return raw if self.kind.row_of else self.load(raw)

    def display(self, value) -> str:
        """What pages show for ``value`` ("" when there is nothing to show)."""
        if self.choices:
            return dict(self.choices).get(value, _text_of(value))
        return self.kind.show(value)


STATUS_CHOICES = (("pending", "Pending"), ("in_progress", "In progress"), ("completed", "Completed"))
PRIORITY_CHOICES = (("low", "Low"), ("medium", "Medium"), ("high", "High"))
RECURRENCE_CHOICES = (("none", "Does not repeat"), ("daily", "Daily"), ("weekly", "Weekly"),
                      ("monthly", "Monthly"), ("yearly", "Yearly"))

TIME_HELP = f"ISO 8601 with its offset, {RANGE_TEXT}: 422 otherwise; answered in UTC."

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("title", TEXT, "Title", default="", required="Give the task a title.", max_length=TITLE_MAX,
              in_row=True),
    FieldSpec("description", TEXT, "Description", default="", max_length=DESCRIPTION_MAX, multiline=True,
              help="Markdown works: **bold**, lists, [links](https://example.org)."),
    FieldSpec("status", CHOICE, "Status", default="pending", choices=STATUS_CHOICES, badge=True, in_row=True),
    FieldSpec("priority", CHOICE, "Priority", default="medium", choices=PRIORITY_CHOICES, badge=True,
              in_row=True),
    FieldSpec("tags", TAGS, "Tags", default=(), max_length=TAGS_MAX * (TAG_MAX + 2),
              help="Comma-separated, e.g. work, home", in_row=True),
    FieldSpec("due_at", DATETIME, "Due", in_facts=True, in_row=True, api_help=TIME_HELP),
    FieldSpec("remind_at", DATETIME, "Remind me at", heading="Reminder", in_facts=True, api_help=TIME_HELP),
    FieldSpec("recurrence", CHOICE, "Repeats", default="none", choices=RECURRENCE_CHOICES, in_facts=True,
              in_row=True, api_help="Applies once due_at is set."),  # in_row: the list shows "Repeats …"
    FieldSpec("estimate", DURATION, "Estimate", max_length=20, help="How long it takes, e.g. 1h30m, 45m or 2h",
              api_help="How long it takes, e.g. 1h30m, 45m or 2h (1 minute to 999 hours); answered normalised "
                       "(90m: 1h30m)", in_facts=True, in_list=True, in_row=True, sort="Estimate"),
    FieldSpec("assignee", MEMBER, "Assigned to", heading="Assignee", in_facts=True, in_row=True,
              api_help="The user id of a member of the task's board (GET /boards/{board_id}/members); "
                       "null or empty: nobody. 422 if they are not a member."),
    FieldSpec("checklist", CHECKLIST, "Checklist", default=(), in_row=True, in_list=True, in_form=False,
              max_length=checklist.ITEMS_MAX,
              api_help=f"Ordered items (text up to {checklist.ITEM_TEXT_MAX} characters, done), at most "
                       f"{checklist.ITEMS_MAX}; an item keeps its id (a new one gets one). Absent: kept as it is."),
)
BY_NAME = {spec.name: spec for spec in FIELDS}
NAMES = tuple(BY_NAME)
FORM_NAMES = tuple(spec.name for spec in FIELDS if spec.in_form)  # what the edit form carries
