"""WCAG AA contrast of the dark colour scheme, computed from static/style.css like the light one
(``test_contrast.py``): every rule with its own text and background colour, and every text colour on every
surface it is drawn on, with the dark block's variables."""

from __future__ import annotations

import re

import pytest

from tests.unit import test_contrast as light
from tests.unit.test_contrast import AA, contrast

DARK_SELECTORS = (':root[data-theme="dark"]', ':root:not([data-theme="light"])')


def _block(selector: str) -> dict[str, str]:
    found = [d for sel, d in light.rules() if sel == selector]
    assert len(found) == 1, f"one {selector} block"
    return {k: v for k, v in found[0].items() if k.startswith("--") or k == "color-scheme"}


def test_the_chosen_and_the_system_dark_schemes_are_the_same():
    chosen, system = (_block(s) for s in DARK_SELECTORS)
    assert chosen == system and chosen["color-scheme"] == "dark"
    assert set(chosen) - {"color-scheme"} <= set(light.VARIABLES), "a dark variable the light scheme lacks"


@pytest.fixture
def dark(monkeypatch):
    monkeypatch.setattr(light, "VARIABLES", {**light.VARIABLES, **_block(DARK_SELECTORS[0])})


def test_every_rule_with_its_own_background_has_readable_text_in_dark(dark):
    light.test_every_rule_with_its_own_background_has_readable_text()


@pytest.mark.parametrize("text", ["--text", "--muted", "--link", "--danger", "--warn", "--ok", "--pill-text"])
def test_each_text_colour_is_readable_on_each_dark_surface(dark, text):
    surfaces = ["--bg", "--card", "--field", "--done-bg", "--column-bg", "--hover"]
    colours = {name: light.colour(f"var({name})") for name in [text, *surfaces]}
    low = {s: round(contrast(colours[text], colours[s]), 2) for s in surfaces
           if contrast(colours[text], colours[s]) < AA}
    assert low == {}


def test_white_on_the_primary_colour_is_readable_in_dark(dark):
    assert contrast("#ffffff", light.colour("var(--primary)")) >= AA
    assert re.search(r"\.button\.primary \{[^}]*color: #fff", light.CSS)
