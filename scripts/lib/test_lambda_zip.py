"""The Lambda zips are reproducible and hold one executable `bootstrap` (scripts/lib/lambda_zip.py)."""

from __future__ import annotations

import os
import time
import zipfile

import lambda_zip


def test_the_same_binary_gives_the_same_bytes_whenever_it_is_zipped(tmp_path):
    binary = tmp_path / "bin"
    binary.write_bytes(b"\x7fELF" + os.urandom(4096))
    first = lambda_zip.zip_bytes(binary.read_bytes())
    time.sleep(1.1)  # a zip with the build's time in it would differ now
    assert lambda_zip.zip_bytes(binary.read_bytes()) == first
    assert lambda_zip.zip_bytes(b"other") != first


def test_the_zip_holds_one_executable_bootstrap_deflated(tmp_path):
    data = lambda_zip.zip_bytes(b"#!/bin/sh\nexit 0\n" * 100)
    path = tmp_path / "f.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as z:
        (info,) = z.infolist()
        assert info.filename == "bootstrap"
        assert (info.external_attr >> 16) & 0o777 == 0o755
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert z.read("bootstrap") == b"#!/bin/sh\nexit 0\n" * 100


def test_an_unchanged_zip_is_not_rewritten(tmp_path):
    binary = tmp_path / "bin"
    binary.write_bytes(b"same")
    target, _, _ = lambda_zip.write(tmp_path, "fn", binary)
    before = target.stat().st_mtime_ns
    time.sleep(0.05)
    lambda_zip.write(tmp_path, "fn", binary)
    assert target.stat().st_mtime_ns == before
    binary.write_bytes(b"changed")
    lambda_zip.write(tmp_path, "fn", binary)
    assert target.stat().st_mtime_ns != before


def test_a_bad_argument_is_refused(tmp_path, capsys):
    assert lambda_zip.main([str(tmp_path), "no-equals-sign"]) == 2
    assert "NAME=BINARY" in capsys.readouterr().err
