"""WCAG 2 contrast of the stylesheet's text colours (AA: 4.5:1 for normal text), computed from static/style.css."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "static" / "style.css").read_text()
AA = 4.5
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")  # inner rules of @media blocks come out flat


def rules() -> list[tuple[str, dict[str, str]]]:
    found = []
    for selector, body in RULE.findall(re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)):
        decls = dict((k.strip(), v.strip()) for k, _, v in
                     (d.partition(":") for d in body.split(";") if ":" in d))
        found.append((" ".join(selector.split()), decls))
    return found


VARIABLES = {k: v for sel, decls in rules() if sel == ":root" for k, v in decls.items() if k.startswith("--")}


def colour(value: str) -> str:
    """A declaration's colour as #rrggbb, with var(--x) resolved."""
    value = value.replace("!important", "").strip()
    match = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if match:
        return colour(VARIABLES[match.group(1)])
    match = re.search(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", value)
    assert match, f"not a hex colour: {value!r}"
    digits = match.group(1)
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits)).lower()


def declared(selector: str, prop: str) -> str:
    """The last value the stylesheet gives ``prop`` in rules that list ``selector`` exactly."""
    values = [d[prop] for sel, d in rules() if prop in d and selector in (s.strip() for s in sel.split(","))]
    assert values, f"{selector} sets no {prop}"
    return colour(values[-1])


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_formula_matches_known_wcag_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic lightest AA grey


def test_no_rule_fades_text_with_opacity():
    # Opacity blends text into the page: the completed row's due date fell to 3.9:1 and its tags to 4.1:1 this way.
    faded = [sel for sel, d in rules() if "opacity" in d and float(d["opacity"]) < 1]
    assert faded == [], f"opacity below 1 lowers the contrast of every text inside: {faded}"


def test_every_rule_with_its_own_background_has_readable_text():
    pairs = []
    for sel, d in rules():
        background = d.get("background-color") or d.get("background")
        if "color" in d and background and (background.startswith("var(") or "#" in background):
            pairs.append((sel, colour(d["color"]), colour(background)))
    assert len(pairs) >= 10  # pills, flashes, badges, buttons
    low = [(sel, fg, bg, round(contrast(fg, bg), 2)) for sel, fg, bg in pairs if contrast(fg, bg) < AA]
    assert low == []


def blend(top: str, under: str, alpha: float) -> str:
    """``top`` drawn at ``alpha`` opacity over ``under``."""
    mix = (round(alpha * int(top[i:i + 2], 16) + (1 - alpha) * int(under[i:i + 2], 16)) for i in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in mix)


def on_surface(text: str, surface: str) -> tuple[str, str]:
    """(text, background) as drawn: a surface with opacity fades both into the page behind it."""
    decls = {k: v for sel, d in rules() if surface in (s.strip() for s in sel.split(",")) for k, v in d.items()}
    bg = colour(decls["background"]) if "background" in decls else declared(".task", "background")
    alpha = float(decls.get("opacity", 1))
    page = declared("body", "background")
    return blend(text, page, alpha), blend(bg, page, alpha)


# Text that sits on a surface it does not paint itself, on each light surface.
SURFACES = {"page": "body", "card": ".card", "completed row": ".task.done"}
ON_SURFACES = [".due", ".tag", ".muted", ".help", ".errors", ".overdue .due", "a", ".task-title", ".read-label",
               ".error-code", ".facts dt", ".conflict-label"]


@pytest.mark.parametrize("selector", ON_SURFACES)
@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_text_on_the_light_surfaces_meets_aa(selector, surface):
    fg, bg = on_surface(declared(selector, "color"), SURFACES[surface])
    assert contrast(fg, bg) >= AA, f"{selector} {fg} on the {surface} {bg}: {contrast(fg, bg):.2f}:1"


def test_navigation_text_meets_aa_on_the_top_bar():
    bar = declared(".topbar", "background")
    for selector in (".nav a", ".nav .user", ".nav a[aria-current=\"page\"]"):
        fg = declared(selector, "color")
        assert contrast(fg, bar) >= AA, f"{selector} {fg} on {bar}: {contrast(fg, bar):.2f}:1"
