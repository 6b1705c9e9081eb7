"""What the local stack's shell scripts (scripts/lib.sh, scripts/up) ask of Python: whether a port is taken, the
Terraform state bucket in the emulator, the summary `scripts/up` prints, and its smoke test (an event through the
outbox: table -> stream -> publisher -> bus -> queue -> worker).

    python stack.py port-in-use PORT                       # exit 0 if something listens on 127.0.0.1:PORT
    python stack.py ensure-bucket BUCKET                   # the state bucket exists (AWS_* from the environment)
    python stack.py summary OUTPUTS_JSON RUNNER_JSON ENDPOINT
    python stack.py smoke STACK STACK_DIR                  # exit 1 naming what did not happen within 15 s
"""

from __future__ import annotations

import datetime
import json
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

SMOKE_WITHIN = 15.0


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ensure_bucket(name: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    try:
        s3.head_bucket(Bucket=name)
    except Exception:  # noqa: BLE001 - absent (404) or not ours yet: create it
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})


def summary(outputs: dict[str, Any], runner: dict[str, Any], endpoint: str) -> str:
    """What `scripts/up` prints: what was applied, and what the local runner plays."""
    o = {k: v["value"] for k, v in outputs.items()}
    lines = [f"\nEcoBid local stack '{o['workspace']}' is up on {endpoint} (moto server, region {o['region']})\n"]
    lines.append("Queues (each with its DLQ):")
    for name, q in sorted(o["queues"].items()):
        p = q["policy"]
        lines.append(f"  {name:15} {q['queue_url']}")
        lines.append(
            f"  {'':15} {q['dlq_url']}  (maxReceiveCount {p['max_receive_count']}, "
            f"backoff {p['backoff_base_seconds']}-{p['backoff_max_seconds']} s)"
        )
    lines.append(f"  {'events DLQ':15} {o['events_dlq_url']}")
    lines.append(f"\nTable          {o['table_name']} (stream {o['table_stream_arn']})")
    lines.append(f"Buckets        {o['uploads_bucket']}, {o['thumbnails_bucket']}")
    lines.append(f"Event bus      {o['event_bus_name']} (archive {o['event_archive_name']})")
    lines.append(f"Schedules      group {o['schedule_group']}")
    lines.append(f"User pool      {o['user_pool_id']} (client {o['user_pool_client_id']})")
    lines.append(f"HTTP API       {o['api_id']}")
    lines.append("Functions      " + ", ".join(sorted(o["functions"].values())))
    lines.append("Topics         " + ", ".join(sorted(o["topics"].values())))
    lines.append("\nLocal runner (stands in for Lambda, API Gateway, CloudFront and the Scheduler):")
    lines.append("  running      " + ", ".join(runner["functions"]))
    for m in runner["sqs_mappings"] + runner["stream_mappings"]:
        lines.append("  mapping      " + m)
    for api, url in runner["apis"].items():
        lines.append(f"  HTTP API     {api} on {url}")
    for distribution, url in runner.get("distributions", {}).items():
        lines.append(f"  CloudFront   {distribution} ({o['media_base_url']}) on {url}")
    return "\n".join(lines)


def smoke_envelope(event_id: str, correlation_id: str, now: datetime.datetime) -> dict[str, Any]:
    """An ItemCreated envelope, as the API's outbox writes one."""
    return {
        "version": "1",
        "id": event_id,
        "correlationId": correlation_id,
        "source": "ecobid.items",
        "type": "ItemCreated",
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "data": {
            "itemId": "smoke-item",
            "sellerId": "smoke-user",
            "title": "Smoke test chair",
            "category": "furniture",
            "mode": "free",
            "location": {"lat": 48.85, "lon": 2.35, "geohash": "u09tvw"},
            "expiresAt": (now + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def published(publisher_log: str, event_id: str) -> bool:
    """Whether the stream publisher's log says it put `event_id` on the bus."""
    return any('"event published"' in line and event_id in line for line in publisher_log.splitlines())


def invocation(runner_lines: list[str], function: str) -> dict[str, Any] | None:
    """The first invocation of `function` among the runner's log lines (its fields), if any."""
    for line in runner_lines:
        if '"invoked"' in line and function in line:
            try:
                return json.loads(line)["fields"]
            except (ValueError, KeyError):
                continue
    return None


def wait(check: Callable[[], Any], within: float, clock: Callable[[], float] = time.monotonic) -> Any:
    """Polls `check` every 0.1 s until it answers something truthy or `within` seconds pass (then None)."""
    start = clock()
    while True:
        found = check()
        if found or clock() - start >= within:
            return found or None
        time.sleep(0.1)


def smoke(stack: str, stack_dir: Path) -> int:
    import boto3

    prefix = f"ecobid-{stack}"
    runner_log = stack_dir / "runner.log"
    publisher_log = stack_dir / "runner" / "logs" / f"{prefix}-stream-publisher.log"
    seen_before = len(runner_log.read_text().splitlines())
    event_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    envelope = smoke_envelope(event_id, correlation_id, datetime.datetime.now(datetime.timezone.utc))
    start = time.monotonic()
    boto3.client("dynamodb").put_item(
        TableName=f"{prefix}-table",
        Item={
            "PK": {"S": f"EVENT#{event_id}"},
            "SK": {"S": "EVENT"},
            "envelope": {"S": json.dumps(envelope)},
            "type": {"S": "ItemCreated"},
            "ttl": {"N": str(int(time.time()) + 2 * 86400)},
        },
    )
    on_bus = wait(
        lambda: publisher_log.exists() and published(publisher_log.read_text(), event_id) and time.monotonic(),
        SMOKE_WITHIN,
    )
    if not on_bus:
        print(f"smoke failed: event {event_id} was not published within {SMOKE_WITHIN:.0f} s (see {publisher_log})")
        return 1
    print(
        f"  ItemCreated {event_id} (correlation {correlation_id}) put in the table, "
        f"on the bus {(on_bus - start) * 1000:.0f} ms later"
    )
    delivered = wait(
        lambda: invocation(runner_log.read_text().splitlines()[seen_before:], f"{prefix}-notifications-worker"),
        SMOKE_WITHIN,
    )
    if not delivered:
        print(f"smoke failed: the notifications worker was not invoked within {SMOKE_WITHIN:.0f} s (see {runner_log})")
        return 1
    outcome = "handled" if not delivered["failures"] else f"failed ({delivered.get('error') or 'batch item failure'})"
    print(f"  the notifications worker was invoked with it: {outcome}")
    return 0 if not delivered["failures"] else 1


def main(argv: list[str]) -> int:
    command, *args = argv or ["help"]
    if command == "port-in-use" and len(args) == 1:
        return 0 if port_in_use(int(args[0])) else 1
    if command == "ensure-bucket" and len(args) == 1:
        ensure_bucket(args[0])
        return 0
    if command == "summary" and len(args) == 3:
        outputs = json.loads(Path(args[0]).read_text())
        runner = json.loads(Path(args[1]).read_text())
        print(summary(outputs, runner, args[2]))
        return 0
    if command == "smoke" and len(args) == 2:
        return smoke(args[0], Path(args[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
