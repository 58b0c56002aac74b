"""Light and dark: the app follows the system's colour scheme.

The style sheets in resources/styles are written once, for the light scheme. For
the dark scheme every colour in them is turned around in lightness (hue and
saturation kept, lightness L → 1 − L, lifted a little for the darkest
backgrounds), so dark text on a light card becomes light text on a dark card
with about the same contrast, and no screen needs a second sheet. Qt's own
palette (for what the sheets do not style) is set to match. The scheme is read
from ``QStyleHints.colorScheme()`` and followed when it changes while the app
runs.
"""

from __future__ import annotations

import colorsys
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtGui import QGuiApplication
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

HEX = re.compile(r"#([0-9a-fA-F]{6})\b")


def dark_color(hex6: str) -> str:
    """The dark-scheme twin of a light-scheme colour ``rrggbb`` (without '#')."""
    r, g, b = (int(hex6[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    flipped = 1.0 - lightness
    # Pure black backgrounds look like holes; keep the darkest surfaces a soft grey.
    flipped = 0.09 + flipped * 0.88
    s = s * 0.85  # saturated colours glow on dark; calm them a little
    r, g, b = colorsys.hls_to_rgb(h, flipped, s)
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))


KEEP = "/* same in dark */"


def dark_sheet(light_sheet: str) -> str:
    """Turn every ``#rrggbb`` colour of a light style sheet into its dark twin,
    except on lines marked ``/* same in dark */`` (surfaces that are already dark,
    like the navigation panel)."""
    return "".join(
        line if KEEP in line else HEX.sub(lambda m: dark_color(m.group(1)), line)
        for line in light_sheet.splitlines(keepends=True)
    )


def relative_luminance(hex_color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    h = hex_color.lstrip("#")
    channels = []
    for i in (0, 2, 4):
        c = int(h[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def is_dark() -> bool:
    """Whether the dark scheme is in use (what :func:`apply_theme` last set)."""
    app = QApplication.instance()
    return bool(app is not None and app.property("peertrailDark"))


def themed(light: str) -> QColor:
    """A colour written for the light scheme (``#rrggbb``), as the scheme in use
    shows it: for what Python code paints itself (charts, badges in delegates,
    item colours of models), which the style sheets cannot turn."""
    return QColor(dark_color(light.lstrip("#")) if is_dark() else light)


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def palette(dark: bool) -> QPalette:
    """Qt's palette to match the sheets (for dialogs and widgets they leave alone)."""
    base = {
        QPalette.ColorRole.Window: "#eef1ee",
        QPalette.ColorRole.WindowText: "#1e2a2f",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f4f7f2",
        QPalette.ColorRole.Text: "#1e2a2f",
        QPalette.ColorRole.Button: "#e3e9e4",
        QPalette.ColorRole.ButtonText: "#1e2a2f",
        QPalette.ColorRole.Highlight: "#1f6f78",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: "#1e2a2f",
        QPalette.ColorRole.PlaceholderText: "#5d6b6f",
        QPalette.ColorRole.Link: "#1f6f78",
    }
    pal = QPalette()
    for role, color in base.items():
        pal.setColor(role, QColor(dark_color(color[1:]) if dark else color))
    return pal


def indicator_palette(dark: bool) -> QPalette:
    """The palette of check boxes and radio buttons. Fusion draws their box's edge
    from the window colour made darker, which on a dark window is as good as
    invisible; a mid grey "window" for these two classes gives the edge contrast."""
    pal = palette(dark)
    if dark:
        pal.setColor(QPalette.ColorRole.Window, QColor("#b3c0bc"))
    return pal


#: Added to the turned sheet in the dark scheme only: a warm, bright focus ring on
#: the dark buttons and a near-black one inside the light-teal primary buttons (the
#: turned teal ring was barely visible on either); each contrasts 3:1 or more with
#: the button it surrounds.
DARK_FOCUS = """
QPushButton:focus, QToolButton:focus {
    border: 2px solid #ffc857;
}
QPushButton#primary:focus {
    border: 3px solid #0b1d20;
}
QPushButton#link:focus {
    border: 1px solid #ffc857;
}
"""


def apply_theme(app: QApplication, light_sheet: str, dark: bool | None = None) -> bool:
    """Set the palette and the (possibly turned) style sheet; returns whether the
    dark scheme is in use."""
    dark = system_is_dark() if dark is None else dark
    app.setPalette(palette(dark))
    for cls in ("QCheckBox", "QRadioButton"):
        app.setPalette(indicator_palette(dark), cls)
    app.setStyleSheet(dark_sheet(light_sheet) + DARK_FOCUS if dark else light_sheet)
    app.setProperty("peertrailDark", dark)
    return dark


def follow_system(app: QApplication, light_sheet: str) -> None:
    """Apply the theme now and again whenever the system scheme changes."""
    apply_theme(app, light_sheet)
    hints = QGuiApplication.styleHints()
    hints.colorSchemeChanged.connect(lambda *_: apply_theme(app, light_sheet))
