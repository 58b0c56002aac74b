"""Regenerate resources/codes/icd10cm-billable.txt.gz, the ICD-10-CM billable
(leaf) codes the pre-flight accepts, from the CMS tabular list that the PyPI
package simple-icd-10-cm ships (not a hand-typed list).

    pip download --no-deps simple-icd-10-cm==1.5.0 -d /tmp/icd
    pip install /tmp/icd/simple_icd_10_cm-1.5.0-py3-none-any.whl
    python resources/codes/make_icd10cm_codes.py

A code is billable when it has no children in the tabular list (categories and
subcategories that have children are headers, e.g. F11 or Z99.8), counting the
7th-character extensions. Update resources/codes/code_sets.json with the version.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import simple_icd_10_cm as cm  # not a dependency of the app: only for this script

OUT = Path(__file__).resolve().parent / "icd10cm-billable.txt.gz"


def main() -> None:
    codes = cm.get_all_codes(False)  # without the dot, 7th characters included
    leaves = sorted(
        {c for c in codes if "-" not in c and (cm.is_category(c) or cm.is_subcategory(c))
         and cm.is_leaf(c)}
    )  # fmt: skip
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        fh.write(("\n".join(leaves) + "\n").encode("ascii"))
    print(f"{len(leaves)} billable codes written to {OUT}")


if __name__ == "__main__":
    main()
