"""The About dialog shows the same version ``--version`` prints (pyproject's)."""

from __future__ import annotations

import tomllib

from PySide6.QtWidgets import QDialogButtonBox

from app.ui.shell.about import show_about
from tests.helpers import ROOT
from tests.helpers import run_cli


def test_about_and_version_agree_with_pyproject(qtbot, tmp_path):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    printed = run_cli("--version")
    assert printed.returncode == 0 and printed.stdout.strip() == f"PeerTrail {version}"

    dialog = show_about(None, tmp_path / "data")
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    assert dialog.version_label.text() == f"Version {version}"
    assert str(tmp_path / "data") in dialog.folder_label.text()
    assert dialog.windowTitle() == "About PeerTrail"
    with qtbot.waitSignal(dialog.finished):
        dialog.findChild(QDialogButtonBox).rejected.emit()
