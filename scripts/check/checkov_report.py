"""Runs checkov over terraform/ and holds the line: 0 failed checks, no parsing error, every skip with a reason.

    checkov_report.py CHECKOV_BIN TERRAFORM_DIR

Prints the figures (passed, failed, skipped) and each failure with its resource and file; exits 1 on any failure,
on a file checkov could not parse, or on a `checkov:skip` comment that gives no reason. checkov runs offline
(`--skip-download`: no guidelines from Prisma Cloud).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$")


def unexplained_skips(terraform: Path) -> list[str]:
    """`file:line: ID` of each skip comment whose reason is missing or empty."""
    bad = []
    for path in sorted(terraform.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = SKIP.search(line.strip())
            if m and not (m.group(2) or "").strip():
                bad.append(f"{path}:{n}: {m.group(1)}")
    return bad


def report(results: dict) -> tuple[list[str], str]:
    """The failures (one line each) and the figures line of one checkov JSON report."""
    summary = results.get("summary", {})
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}"
        for c in results.get("results", {}).get("failed_checks", [])
    ]
    figures = (
        f"checkov {summary.get('checkov_version', '?')}: {summary.get('passed', 0)} passed, "
        f"{summary.get('failed', 0)} failed, {summary.get('skipped', 0)} skipped with a reason, "
        f"{summary.get('parsing_errors', 0)} parsing errors, {summary.get('resource_count', 0)} resources"
    )
    if summary.get("parsing_errors", 0):
        failed.append(f"{summary['parsing_errors']} file(s) checkov could not parse")
    return failed, figures


def main(checkov: str, terraform: str) -> int:
    run = subprocess.run(
        [checkov, "-d", terraform, "--framework", "terraform", "--quiet", "--compact", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        document = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"checkov answered no JSON (exit {run.returncode}):\n{run.stderr[-2000:]}", file=sys.stderr)
        return 1
    reports = document if isinstance(document, list) else [document]
    failures: list[str] = []
    for r in reports:
        failed, figures = report(r)
        print(figures)
        failures += failed
    failures += [f"skip without a reason: {s}" for s in unexplained_skips(Path(terraform))]
    for f in failures:
        print(f"  {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
