"""Start moto server for the local stack: patched (moto_patches.py, deliveries.py), with fault injection
(faults.py) and the record of what was delivered to people (deliveries.py), Lambda
without docker, on 127.0.0.1.

Usage: moto_server.py --port PORT
Runs in the foreground; scripts/up starts it in the background and records its PID.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deliveries  # noqa: E402
import faults  # noqa: E402
import moto_patches  # noqa: E402


def configure() -> None:
    """Apply the patches, the fault-injection layer and the config moto needs before any function is created."""
    from moto.core.config import default_user_config

    moto_patches.apply()
    deliveries.install()
    faults.install()
    # No docker here: moto must not try to run Lambda code (the local runner does that).
    default_user_config["lambda"]["use_docker"] = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    configure()
    from moto.server import main as moto_main

    moto_main(["--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    main()
