"""Deployment zips of Lambda functions, byte for byte reproducible: one entry, `bootstrap`, with a fixed
timestamp, mode 0755 and a fixed deflate level, so the zip's hash is its binary's and an identical rebuild makes
Terraform plan no change. A zip whose bytes would not change is not rewritten (its mtime stays).

    python3 scripts/lib/lambda_zip.py OUT_DIR NAME=BINARY [NAME=BINARY ...]   # OUT_DIR/NAME.zip for each
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

ENTRY = "bootstrap"
# 1980-01-01, the earliest date a zip can hold: no build's time leaks into the bytes.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def zip_bytes(binary: bytes) -> bytes:
    """The deployment zip of one `bootstrap`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(ENTRY, date_time=FIXED_DATE)
        info.external_attr = 0o100755 << 16
        info.create_system = 3
        # ZipInfo carries its own compression (stored unless told): deflate at the highest level.
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, binary, compresslevel=9)
    return buf.getvalue()


def write(out: Path, name: str, binary: Path) -> tuple[Path, int, int]:
    """Writes OUT/NAME.zip (unless it already holds these bytes): (path, zip size, binary size)."""
    content = binary.read_bytes()
    data = zip_bytes(content)
    target = out / f"{name}.zip"
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return target, len(data), len(content)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for arg in argv[1:]:
        name, sep, binary = arg.partition("=")
        if not sep or not name or not binary:
            print(f"lambda_zip: {arg!r} is not NAME=BINARY", file=sys.stderr)
            return 2
        _, zipped, raw = write(out, name, Path(binary))
        print(f"  {name}.zip  {zipped / 1e6:.1f} MB (bootstrap {raw / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
