"""The checkov gate fails on a failed check, a parsing error and a skip without a reason."""

from pathlib import Path

import checkov_report


def test_a_failed_check_and_a_parsing_error_are_failures():
    results = {
        "summary": {"passed": 3, "failed": 1, "skipped": 2, "parsing_errors": 1, "resource_count": 4},
        "results": {
            "failed_checks": [
                {
                    "check_id": "CKV_AWS_21",
                    "resource": "aws_s3_bucket.b",
                    "file_path": "/main.tf",
                    "file_line_range": [3, 9],
                    "check_name": "versioning",
                }
            ]
        },
    }
    failed, figures = checkov_report.report(results)
    assert figures.startswith("checkov ?: 3 passed, 1 failed, 2 skipped with a reason, 1 parsing errors")
    assert failed[0].startswith("CKV_AWS_21 aws_s3_bucket.b (/main.tf:3)")
    assert "could not parse" in failed[1]


def test_a_clean_report_has_no_failure():
    failed, _ = checkov_report.report({"summary": {"passed": 5}, "results": {"failed_checks": []}})
    assert failed == []


def test_only_skips_without_a_reason_are_named(tmp_path: Path):
    (tmp_path / "main.tf").write_text(
        'resource "x" "y" {\n'
        "  #checkov:skip=CKV_AWS_1:a reason\n"
        "  #checkov:skip=CKV_AWS_2\n"
        "  # checkov:skip=CKV_AWS_3:   \n"
        "}\n"
    )
    bad = checkov_report.unexplained_skips(tmp_path)
    assert [b.rsplit(": ", 1)[1] for b in bad] == ["CKV_AWS_2", "CKV_AWS_3"]
