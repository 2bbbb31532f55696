"""A text the API refuses as blank is one its OpenAPI document's pattern refuses too, read as the document's
dialect (ECMA-262) reads it: a client generating valid data from the document (schemathesis in
tests/integration/test_api_schema.py) is never answered 422. Before, the pattern was ``\\S``: ECMA's ``\\s``
does not count \\x1c-\\x1f or \\x85 as blank, Python's does, so ``"\\x1f\\x1f"`` was valid text the server refused."""

from __future__ import annotations

import re

import pytest
from marshmallow import Schema

from webapp.api.comments import CommentInSchema
from webapp.api.schemas import NOT_BLANK, BoardInSchema, ChecklistItemSchema, field_in
from webapp.tasks.fields import FIELDS

TitleInSchema = Schema.from_dict({"title": field_in(next(spec for spec in FIELDS if spec.name == "title"))})

# ECMA-262's \s: WhiteSpace and LineTerminator code points.
ECMA_SPACES = "\t\n\v\f\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
PYTHON_SPACES = "".join(chr(c) for c in range(0x3100) if chr(c).isspace()) + "\ufeff"


def as_ecma(pattern: str) -> re.Pattern:
    """``pattern`` as an ECMA-262 engine reads it, for Python's ``re``: ``\\s`` and ``\\S`` by ECMA's set (our
    patterns use ``\\s`` only inside a character class)."""
    spaces = "".join(f"\\u{ord(c):04x}" for c in ECMA_SPACES)
    return re.compile(pattern.replace(r"\S", f"[^{spaces}]").replace(r"\s", spaces))


@pytest.mark.parametrize("schema, field", [(CommentInSchema, "text"), (BoardInSchema, "name"),
                                           (ChecklistItemSchema, "text"), (TitleInSchema, "title")])
def test_every_blank_in_either_dialect_is_refused_by_the_server_and_by_the_published_pattern(schema, field):
    published = as_ecma(schema().fields[field].metadata["pattern"])
    for blank in sorted(set(ECMA_SPACES + PYTHON_SPACES)):
        assert field in schema().validate({field: blank * 2}), repr(blank)
        assert published.search(blank * 2) is None, repr(blank)
    assert not schema().validate({field: " Fine "}) and published.search(" Fine ")


def test_the_pattern_is_the_same_set_in_both_dialects():
    for code in range(0x3100):
        char = chr(code)
        assert bool(re.search(NOT_BLANK, char)) == bool(as_ecma(NOT_BLANK).search(char)), hex(code)
