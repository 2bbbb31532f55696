"""Markdown of descriptions and comments, rendered on the server and sanitised. No I/O.

CommonMark by markdown-it-py with raw HTML off, images off (a remote image is a tracking pixel) and a line
break kept as one (text typed in a plain text area reads as typed), then
nh3 (ammonia) keeps only the tags Markdown makes, links with http(s)/mailto or a path on this site, and
gives every link ``rel="nofollow noopener"``. ``@username`` becomes a link when ``mentions`` names that
user (a member of the task's board); any other ``@name`` stays text, and so does one in code.
"""

from __future__ import annotations

import re
from typing import Callable

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

# A username (auth.forms.USERNAME_RULE: letters, digits, dots, dashes, underscores; 3–32) after an "@"
# that does not follow a word character (so "me@example.org" mentions nobody).
MENTION = re.compile(r"@([A-Za-z0-9_.-]{3,32})")
_WORD = re.compile(r"[A-Za-z0-9_.@-]")

TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def _mention_rule(state, silent: bool) -> bool:
    """An inline rule: ``@name`` → a ``mention`` token (the renderer decides whether it becomes a link)."""
    pos = state.pos
    if state.src[pos] != "@" or (pos > 0 and _WORD.match(state.src[pos - 1])):
        return False
    found = MENTION.match(state.src, pos)
    if not found:
        return False
    name = found[1].rstrip(".")  # "thanks @bob." mentions bob
    if len(name) < 3:
        return False
    if not silent:
        token = state.push("mention", "", 0)
        token.meta = {"name": name}
        token.content = "@" + name
    state.pos = pos + 1 + len(name)
    return True


def _render_mention(self, tokens, idx, options, env) -> str:
    name = tokens[idx].meta["name"]
    env.setdefault("found", []).append(name)
    link = (env.get("link") or (lambda _: None))(name)
    text = escape("@" + name)
    return f'<a class="mention" href="{escape(link)}">{text}</a>' if link else str(text)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable("image")  # a line break stays one
    md.inline.ruler.before("emphasis", "mention", _mention_rule)
    md.add_render_rule("mention", _render_mention)
    return md


_MD = _parser()


def sanitise(html: str) -> str:
    """Only the tags and attributes Markdown makes; links get ``rel="nofollow noopener"``."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="nofollow noopener", allowed_classes={"a": {"mention"}})


def render(text: str | None, link: Callable[[str], str | None] | None = None) -> Markup:
    """``text`` as safe HTML; ``link(name)``: where ``@name`` links to, or None to leave it as text."""
    if not text:
        return Markup("")
    return Markup(sanitise(_MD.render(text, {"link": link})))


def mentioned(text: str | None) -> list[str]:
    """The ``@names`` of ``text`` that Markdown would render as mentions (not in code), in order, once each."""
    env: dict = {"link": lambda _: None}
    _MD.render(text or "", env)
    return list(dict.fromkeys(env.get("found", [])))
