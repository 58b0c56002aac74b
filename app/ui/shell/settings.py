"""The app's preferences, declared once: key, type, default, limits and a
translatable label (Picard's options.py style), kept in QSettings.

QSettings holds only preferences, never personal data: no names, no note text,
no server token (the server address and the device token live inside the
encrypted vault, see app.store.replica). A value that cannot be read (a hand-edited
or damaged file) gives the default. ``VERSION`` and :func:`upgrade` move settings
written by an older release to the current keys, one step per version.

``apply_font_size`` sets the text size app-wide at once: the application font and
every point size in the style sheets, scaled together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

#: Bumped when a release renames or reshapes a setting (see :func:`upgrade`).
VERSION = 1
_VERSION_KEY = "settings_version"

#: The point size the style sheets are written for (app.qss: QWidget 11pt).
BASE_FONT_PT = 11


def _noop(text: str) -> str:
    """Marks a label for translation; it is translated when shown (context "Settings")."""
    return text


@dataclass(frozen=True)
class Option:
    key: str
    type: type
    default: Any
    label: str  # English source text, translated with tr_label()
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Any, ...] = ()

    def tr_label(self) -> str:
        return QCoreApplication.translate("Settings", self.label)

    def coerce(self, raw: Any) -> Any:
        """The stored value as this option's type, or the default when it is not
        one (QSettings' INI files give strings back)."""
        if raw is None:
            return self.default
        try:
            if self.type is bool:
                if isinstance(raw, str):
                    low = raw.strip().lower()
                    if low in ("true", "1", "yes"):
                        value: Any = True
                    elif low in ("false", "0", "no"):
                        value = False
                    else:
                        return self.default
                else:
                    value = bool(raw)
            elif self.type is int:
                if isinstance(raw, bool):
                    return self.default
                value = int(str(raw).strip())
            else:
                value = self.type(raw)
        except (TypeError, ValueError):
            return self.default
        if self.minimum is not None and value < self.minimum:
            return self.default
        if self.maximum is not None and value > self.maximum:
            return self.default
        if self.choices and value not in self.choices:
            return self.default
        return value


IDLE_LOCK_MINUTES = "lock/idle_minutes"
DEFAULT_PAYER = "notes/default_payer_id"
FONT_SIZE = "display/font_size"
AUTO_SYNC = "sync/automatic"

OPTIONS: tuple[Option, ...] = (
    Option(
        IDLE_LOCK_MINUTES,
        int,
        15,
        _noop("Lock PeerTrail after this many minutes without use"),
        minimum=1,
        maximum=240,
    ),
    Option(
        DEFAULT_PAYER,
        str,
        "",
        _noop("Payer for new notes (a payer's record id; empty: the participant's payer)"),
    ),
    Option(FONT_SIZE, int, BASE_FONT_PT, _noop("Text size (points)"), minimum=9, maximum=24),
    Option(AUTO_SYNC, bool, True, _noop("Sync automatically when a connection appears")),
)

BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}


def _upgrade_to_1(qs: QSettings) -> None:
    """Version 0 (no version written): nothing to move yet."""


#: version reached -> function that moves settings from the version before.
UPGRADES: dict[int, Callable[[QSettings], None]] = {1: _upgrade_to_1}


def upgrade(qs: QSettings) -> None:
    """Run every upgrade step past the stored version, in order."""
    try:
        current = int(str(qs.value(_VERSION_KEY, 0)))
    except ValueError:
        current = 0
    for version in sorted(UPGRADES):
        if version > current:
            UPGRADES[version](qs)
            qs.setValue(_VERSION_KEY, version)
    qs.sync()


class Settings:
    """Typed access to the declared options. Tests hand in their own QSettings
    (an INI file in a temporary folder); the app uses the platform's store."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qs = qsettings if qsettings is not None else QSettings()
        upgrade(self.qs)

    @classmethod
    def at(cls, path: str) -> Settings:
        return cls(QSettings(path, QSettings.Format.IniFormat))

    def get(self, key: str) -> Any:
        option = BY_KEY[key]
        return option.coerce(self.qs.value(key))

    def set(self, key: str, value: Any) -> None:
        option = BY_KEY[key]
        checked = option.coerce(value)
        if checked != value or type(checked) is not type(value):
            raise ValueError(f"not a valid value for {key}")
        self.qs.setValue(key, value)
        self.qs.sync()

    def reset(self, key: str) -> None:
        self.qs.remove(key)
        self.qs.sync()

    @property
    def idle_lock_minutes(self) -> int:
        return self.get(IDLE_LOCK_MINUTES)

    @property
    def font_size(self) -> int:
        return self.get(FONT_SIZE)

    @property
    def default_payer_id(self) -> str:
        return self.get(DEFAULT_PAYER)

    @property
    def auto_sync(self) -> bool:
        return self.get(AUTO_SYNC)


_PT = re.compile(r"(\d+(?:\.\d+)?)pt\b")


def scale_points(sheet: str, factor: float) -> str:
    """Every ``Npt`` in a style sheet times ``factor`` (rounded to a half point)."""

    def one(m: re.Match[str]) -> str:
        value = round(float(m.group(1)) * factor * 2) / 2
        return f"{value:g}pt"

    return _PT.sub(one, sheet)


def apply_font_size(app: QApplication, points: int, base_sheet: str | None = None) -> None:
    """Make every text in the app ``points`` tall (headings keep their proportion),
    at once: the application font and the style sheets' point sizes."""
    if base_sheet is None:
        base_sheet = app.property("peertrail_base_sheet")
        if not base_sheet:
            base_sheet = app.styleSheet()
            app.setProperty("peertrail_base_sheet", base_sheet)
    else:
        app.setProperty("peertrail_base_sheet", base_sheet)
    font = app.font()
    font.setPointSizeF(float(points))
    app.setFont(font)
    app.setStyleSheet(scale_points(base_sheet, points / BASE_FONT_PT))
