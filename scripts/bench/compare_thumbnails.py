"""The thumbnail job (decode, 1024/512/128 px on the long side, EXIF orientation, JPEG q90 4:4:4) on one photo,
by the images worker (Rust), libvips (pyvips) and Pillow, each in a fresh process on one thread: median of the
runs, the process's peak RSS, and each thumbnail's PSNR against a reference made the slow careful way (a full
decode, upright, Lanczos3 straight to each size, by Pillow). Run by scripts/bench-images.

Usage: compare_thumbnails.py PHOTO RUST_JOB_BINARY [--runs N]
       compare_thumbnails.py --job vips|pillow PHOTO --runs N --out DIR   (one contender, in its own process)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (1024, 512, 128)
QUALITY = 90


def fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= long_side:
        return width, height
    scale = long_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def job_vips(data: bytes) -> dict[int, bytes]:
    import pyvips

    # Shrink-on-load and auto-rotation from EXIF, the libvips way; then each size from the one before.
    image = pyvips.Image.thumbnail_buffer(data, SIZES[0], height=SIZES[0])
    out = {}
    for size in SIZES:
        w, h = fit(image.width, image.height, size)
        if (w, h) != (image.width, image.height):
            image = image.resize(w / image.width, vscale=h / image.height, kernel="lanczos3")
        out[size] = image.jpegsave_buffer(Q=QUALITY, subsample_mode="off", keep="none")
    return out


def job_pillow(data: bytes) -> dict[int, bytes]:
    from PIL import Image, ImageOps

    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (SIZES[0], SIZES[0]))  # DCT-domain shrink-on-load, the Pillow way
    image = ImageOps.exif_transpose(image).convert("RGB")
    out = {}
    for size in SIZES:
        w, h = fit(image.width, image.height, size)
        if (w, h) != image.size:
            image = image.resize((w, h), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=QUALITY, subsampling=0)
        out[size] = buf.getvalue()
    return out


def run_job(name: str, photo: Path, runs: int, out: Path) -> None:
    data = photo.read_bytes()
    job = {"vips": job_vips, "pillow": job_pillow}[name]
    times, result = [], {}
    for _ in range(runs):
        start = time.perf_counter()
        result = job(data)
        times.append((time.perf_counter() - start) * 1e3)
    out.mkdir(parents=True, exist_ok=True)
    for size, jpeg in result.items():
        (out / f"{size}.jpg").write_bytes(jpeg)
    print(json.dumps({"median_ms": sorted(times)[len(times) // 2], "peak_rss_kib": vm_hwm_kib(), "runs_ms": times}))


def vm_hwm_kib() -> int:
    """This process's peak RSS (VmHWM, which exec resets; a parent's rusage keeps its own pre-exec pages)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def measured(cmd: list[str], env: dict[str, str]) -> dict:
    """Runs one contender in its own process; its JSON answer (median, runs, its own peak RSS)."""
    done = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])}... failed with exit status {done.returncode}")
    return json.loads(done.stdout)


def psnr(a, b) -> float:
    import numpy as np

    if a.shape != b.shape:
        return float("nan")
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def compare(photo: Path, rust_job: Path, runs: int) -> None:
    import numpy as np
    from PIL import Image, ImageOps

    full = ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
    reference = {s: np.asarray(full.resize(fit(*full.size, s), Image.Resampling.LANCZOS)) for s in SIZES}
    env = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        contenders = {
            "rust (images worker)": [str(rust_job), str(photo), "--runs", str(runs), "--out", f"{tmp}/rust"],
            "libvips (pyvips)": [sys.executable, __file__, "--job", "vips", str(photo), "--runs", str(runs), "--out", f"{tmp}/vips"],
            "Pillow": [sys.executable, __file__, "--job", "pillow", str(photo), "--runs", str(runs), "--out", f"{tmp}/pillow"],
        }
        for name, cmd in contenders.items():
            answer = measured(cmd, env)
            out = Path(cmd[cmd.index("--out") + 1])
            quality = []
            for s in SIZES:
                thumb = np.asarray(Image.open(out / f"{s}.jpg").convert("RGB"))
                if thumb.shape != reference[s].shape:
                    sys.exit(f"{name}: {s} px thumbnail is {thumb.shape}, the reference {reference[s].shape}")
                quality.append(psnr(thumb, reference[s]))
            rows.append((name, answer["median_ms"], answer["peak_rss_kib"] / 1024, quality))
    fastest_other = min(r[1] for r in rows[1:])
    print(f"thumbnail job on {photo.name} ({full.size[0]}x{full.size[1]} upright), 1 thread, median of {runs} runs")
    print(f"{'':22} {'median':>10} {'ratio':>7} {'peak RSS':>10}   PSNR vs full-decode Lanczos3 (1024 / 512 / 128)")
    for name, ms, rss, quality in rows:
        print(
            f"{name:22} {ms:8.1f}ms {ms / fastest_other:6.2f}x {rss:8.1f}MB   "
            + " / ".join(f"{q:.1f} dB" for q in quality)
        )
    print(f"ratio: against the faster of libvips and Pillow ({fastest_other:.1f} ms)")
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.jpg"
        bomb.write_bytes(jpeg_claiming(20_000, 20_000))
        answer = measured([str(rust_job), str(bomb), "--runs", str(runs), "--out", f"{tmp}/bomb"], env)
        if answer["rejected"] != "too-many-pixels":
            sys.exit(f"the bomb was not refused for its size: {answer}")
        print(
            f"a 20000x20000 bomb (JPEG header): refused ({answer['rejected']}) in {answer['median_ms']:.3f} ms, "
            f"peak RSS {answer['peak_rss_kib'] / 1024:.1f} MB"
        )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 16x16 JPEG whose frame header is rewritten to say width x height (a decompression bomb's header)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (128, 128, 128)).save(buf, "JPEG", quality=80)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    data[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", choices=["vips", "pillow"])
    parser.add_argument("photo", type=Path)
    parser.add_argument("rust_job", type=Path, nargs="?")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs: at least 7")
    if args.job:
        run_job(args.job, args.photo, args.runs, args.out)
    elif args.rust_job:
        compare(args.photo, args.rust_job, args.runs)
    else:
        parser.error("the Rust job binary is needed")


if __name__ == "__main__":
    main()
