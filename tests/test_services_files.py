"""Saving an export where the person chose: a failure is a plain message, never the
path (it may hold a person's name), and nothing half written stays behind."""

from __future__ import annotations

import pytest

from app.services.files import save_export
from app.store.errors import StoreError


def test_writes_the_whole_file(tmp_path) -> None:
    target = tmp_path / "report.pdf"
    assert save_export(target, b"%PDF-1.4 body") == target
    assert target.read_bytes() == b"%PDF-1.4 body"


@pytest.mark.parametrize("where", ["missing folder", "a folder in the way"])
def test_a_place_that_cannot_be_written_says_so_without_the_path(tmp_path, where) -> None:
    folder = tmp_path / "Jane Example reports"
    if where == "missing folder":
        target = folder / "report.pdf"
    else:
        folder.mkdir()
        target = folder  # the chosen name is a folder
    with pytest.raises(StoreError) as err:
        save_export(target, b"data", what="note PDF")
    text = str(err.value)
    assert text.startswith("The note PDF could not be written there (")
    assert "Choose another folder" in text
    assert "Jane" not in text and str(tmp_path) not in text
    assert not (folder / "report.pdf").exists()
