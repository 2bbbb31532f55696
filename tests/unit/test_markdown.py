"""Markdown of descriptions and comments: CommonMark rendered, then sanitised; XSS payloads come out inert. Pure."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from webapp.markdown import mentioned, render

# Each payload, rendered, must hold no script, no event handler, no javascript:/data:/vbscript: URL.
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](https://example.org/x.png\" onerror=\"alert(1))",
    "[x](https://example.org \"title\\\" onmouseover=alert(1)\")",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "**<img src=x onerror=alert(1)>**",
    "`<script>` and <b onclick=alert(1)>bold</b>",
    "> <details open ontoggle=alert(1)>",
    "* [a](javascript:alert(1))\n  * [b](data:text/html,<script>alert(1)</script>)",
    "[*x*](javascript:alert(1))",
    "<style>body{display:none}</style>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "[x](file:///etc/passwd)",
    "@<img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
]

SAFE_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
             "h1", "h2", "h3", "h4", "h5", "h6"}


class Elements(HTMLParser):
    """Every element and attribute of some HTML, as a browser would parse it."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_come_out_inert(payload):
    html = str(render(payload))
    for tag, attrs in Elements(html).found:
        assert tag in SAFE_TAGS, html
        assert not any(name.startswith("on") or name in ("src", "style") for name in attrs), html
        href = (attrs.get("href") or "").strip()
        assert re.match(r"(https?://|mailto:|/|#)|[^:]*$", href, re.I), html  # no other scheme survives
        if tag == "a":
            assert attrs.get("rel") == "nofollow noopener", html


def test_links_get_nofollow_noopener_and_markdown_renders():
    html = str(render("**bold** _it_ `code`\n\n- one\n- two\n\n[site](https://example.org/a?b=1)"))
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert "<ul>\n<li>one</li>" in html
    assert '<a href="https://example.org/a?b=1" rel="nofollow noopener">site</a>' in html


def test_a_mention_links_only_known_names_and_never_in_code():
    link = {"ann": "/boards/b/members#member-1"}.get
    html = str(render("Hi @ann, @bob and `@ann`, mail me@ann.org", link))
    assert html.count('class="mention"') == 1 and '<a class="mention" href="/boards/b/members#member-1"' in html
    assert "@bob" in html and "<code>@ann</code>" in html and "me@ann.org" in html
    assert mentioned("Hi @ann, @bob and `@carl` and @ann. me@dan.org") == ["ann", "bob"]


def test_nothing_to_render_is_empty():
    assert str(render("")) == "" and str(render(None)) == ""
