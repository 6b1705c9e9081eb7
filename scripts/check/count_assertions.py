"""Counts the assertions of the project's tests, per language and in all: Rust `assert*!` macros (and
`panic!`-free checks are not counted), Python `assert` statements, Terraform test `assert {}` blocks.
A refactoring that says it keeps every assertion can be checked against this: the counts must not drop.

    python3 scripts/check/count_assertions.py [ROOT]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RUST = re.compile(r"\b(assert|assert_eq|assert_ne|debug_assert|debug_assert_eq|assert_matches)!\s*\(")
PY = re.compile(r"^\s*assert\b", re.M)
TF = re.compile(r"^\s*assert\s*\{", re.M)
SKIP = {"target", ".venv", ".venv-bench", ".git", ".local", "node_modules", "dist"}


def files(root: Path, pattern: str):
    for p in root.rglob(pattern):
        if not SKIP.intersection(p.relative_to(root).parts):
            yield p


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
    rust = sum(len(RUST.findall(p.read_text())) for p in files(root, "*.rs"))
    python = sum(len(PY.findall(p.read_text())) for p in files(root, "test_*.py"))
    terraform = sum(len(TF.findall(p.read_text())) for p in files(root, "*.tftest.hcl"))
    print(f"rust {rust}  python {python}  terraform {terraform}  total {rust + python + terraform}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
