"""pyx12 as an independent reader of the 837P files: its Python API with the JSON
error output (its command line's exit status does not tell valid from invalid)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pyx12.params
import pyx12.x12n_document


def _errors(node: Any, path: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            listed = key in ("errors", "element_errors", "seg_errors", "errs")
            if listed and isinstance(value, list):
                out += [f"{path}: {json.dumps(v, default=str)}" for v in value]
            else:
                out += _errors(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _errors(v, f"{path}[{i}]")
    return out


def pyx12_errors(x12_text: str) -> list[str]:
    """Every error pyx12 reports for the file (an empty list: valid)."""
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    param = pyx12.params.ParamsBase()
    fd_json = io.StringIO()
    fd_999 = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        param, io.StringIO(x12_text), fd_999, None, fd_json=fd_json
    )
    doc = json.loads(fd_json.getvalue() or "{}")
    errors = _errors(doc)
    if not ok and not errors:
        errors = ["pyx12 says invalid: " + fd_999.getvalue()[:2000]]
    if ok and errors:
        errors.append("pyx12 returned valid but listed errors")
    return errors
