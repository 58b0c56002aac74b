"""Light and dark: the dark scheme is derived from the light style sheets, and the
text stays readable (WCAG contrast) in both."""

from __future__ import annotations

import re

import pytest

from app.ui.shell.app import load_style_sheet
from app.ui.shell.app import make_application
from app.ui.shell.theme import DARK_FOCUS
from app.ui.shell.theme import HEX
from app.ui.shell.theme import apply_theme
from app.ui.shell.theme import contrast
from app.ui.shell.theme import dark_color
from app.ui.shell.theme import dark_sheet
from app.ui.shell.theme import relative_luminance

# (foreground, background) pairs the sheets put together, as written for the light scheme.
PAIRS = [
    ("#1e2a2f", "#eef1ee"),  # body text on the window
    ("#1e2a2f", "#ffffff"),  # body text on cards and fields
    ("#4a585c", "#eef1ee"),  # hints
    ("#8a1c1c", "#fdeeee"),  # error messages
    ("#4a3300", "#ffe9a8"),  # demo banner
    ("#ffffff", "#1f6f78"),  # primary buttons
    ("#e8f0ee", "#173b3f"),  # navigation
]


@pytest.mark.parametrize(("fg", "bg"), PAIRS)
def test_text_is_readable_in_both_schemes(fg, bg):
    assert contrast(fg, bg) >= 4.5
    assert contrast(dark_color(fg[1:]), dark_color(bg[1:])) >= 4.5


def test_dark_sheet_turns_every_colour_and_keeps_the_rest():
    light = load_style_sheet()
    dark = dark_sheet(light)
    assert HEX.sub("#", light) == HEX.sub("#", dark)  # only colours differ
    window_bg = re.search(r"QMainWindow[^{]*\{\s*background: (#[0-9a-f]{6})", light).group(1)
    assert relative_luminance(window_bg) > 0.8
    assert relative_luminance(dark_color(window_bg[1:])) < 0.05


def test_apply_theme_sets_sheet_and_palette(qtbot):
    app = make_application([])
    light = load_style_sheet()
    try:
        assert apply_theme(app, light, dark=True)
        assert app.styleSheet() == dark_sheet(light) + DARK_FOCUS
        assert app.palette().window().color().lightnessF() < 0.2
        assert not apply_theme(app, light, dark=False)
        assert app.styleSheet() == light
        assert app.palette().window().color().lightnessF() > 0.8
    finally:
        apply_theme(app, light, dark=False)


def test_lines_marked_same_in_dark_keep_their_colour():
    sheet = "A { background: #173b3f; /* same in dark */\n  color: #1e2a2f; }\n"
    dark = dark_sheet(sheet)
    assert "#173b3f" in dark
    assert "#1e2a2f" not in dark
    assert "#173b3f; /* same in dark */" in dark_sheet(load_style_sheet())


def test_dark_buttons_have_a_clearly_visible_focus_ring():
    """WCAG 2.2 (focus appearance): the ring contrasts 3:1 or more with what it
    surrounds, on plain and primary buttons alike, in the dark scheme."""
    light = load_style_sheet()
    ring = re.search(r"QPushButton:focus[^{]*\{\s*border: 2px solid (#[0-9a-f]{6})", DARK_FOCUS)[1]
    inner = re.search(r"#primary:focus \{\s*border: 3px solid (#[0-9a-f]{6})", DARK_FOCUS)[1]
    plain = re.search(r"QPushButton \{\s*background: (#[0-9a-f]{6})", light).group(1)
    primary = re.search(r"QPushButton#primary \{\s*background: (#[0-9a-f]{6})", light).group(1)
    window = re.search(r"QMainWindow[^{]*\{\s*background: (#[0-9a-f]{6})", light).group(1)
    for surface in (plain, window):
        dark_surface = dark_color(surface[1:])
        assert contrast(ring, dark_surface) >= 3.0, (surface, dark_surface)
    assert contrast(inner, dark_color(primary[1:])) >= 3.0
