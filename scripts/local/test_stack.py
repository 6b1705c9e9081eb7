"""The local stack's helpers (stack.py): the summary scripts/up prints, the smoke test's reading of the logs,
the port check and the polling."""

from __future__ import annotations

import datetime
import json
import socket

import stack


def outputs() -> dict:
    q = {
        "queue_url": "http://e/q",
        "dlq_url": "http://e/q-dlq",
        "policy": {"max_receive_count": 5, "backoff_base_seconds": 2, "backoff_max_seconds": 300},
    }
    values = {
        "workspace": "local",
        "region": "eu-west-1",
        "queues": {"images": q, "expiries": q},
        "events_dlq_url": "http://e/events-dlq",
        "table_name": "ecobid-local-table",
        "table_stream_arn": "arn:stream",
        "uploads_bucket": "up",
        "thumbnails_bucket": "th",
        "event_bus_name": "ecobid-local",
        "event_archive_name": "ecobid-local-events",
        "schedule_group": "ecobid-local",
        "user_pool_id": "pool",
        "user_pool_client_id": "client",
        "api_id": "api1",
        "functions": {"api": "ecobid-local-api"},
        "topics": {"push": "arn:push"},
        "media_base_url": "https://d1.cloudfront.net",
    }
    return {k: {"value": v} for k, v in values.items()}


def test_the_summary_names_every_queue_with_its_policy_and_what_the_runner_plays():
    runner = {"functions": ["ecobid-local-api"], "sqs_mappings": ["m1"], "stream_mappings": [], "apis": {"api1": "http://127.0.0.1:8787"}, "distributions": {"E1": "http://127.0.0.1:8788"}}
    text = stack.summary(outputs(), runner, "http://127.0.0.1:4566")
    assert "EcoBid local stack 'local' is up on http://127.0.0.1:4566" in text
    assert text.index("expiries") < text.index("images")
    assert "(maxReceiveCount 5, backoff 2-300 s)" in text
    assert "HTTP API     api1 on http://127.0.0.1:8787" in text
    assert "mapping      m1" in text
    assert "CloudFront   E1 (https://d1.cloudfront.net) on http://127.0.0.1:8788" in text


def test_the_smoke_reads_the_publisher_and_the_runner_logs():
    assert stack.published('{"fields":{"message":"event published","event_id":"e1"}}\n', "e1")
    assert not stack.published('{"fields":{"message":"event published","event_id":"e2"}}\n', "e1")
    lines = [
        json.dumps({"fields": {"message": "invoked", "function": "ecobid-local-images-worker", "failures": 0}}),
        "not json \"invoked\" ecobid-local-notifications-worker",
        json.dumps({"fields": {"message": "invoked", "function": "ecobid-local-notifications-worker", "failures": 0}}),
    ]
    found = stack.invocation(lines, "ecobid-local-notifications-worker")
    assert found == {"message": "invoked", "function": "ecobid-local-notifications-worker", "failures": 0}
    assert stack.invocation(lines[:1], "ecobid-local-notifications-worker") is None


def test_the_smoke_event_is_an_envelope_of_item_created():
    now = datetime.datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=datetime.timezone.utc)
    e = stack.smoke_envelope("id", "corr", now)
    assert (e["version"], e["type"], e["source"], e["time"]) == ("1", "ItemCreated", "ecobid.items", "2026-12-01T10:00:00.123Z")
    assert e["data"]["expiresAt"] == "2026-12-08T10:00:00Z"


def test_a_listening_port_is_in_use_and_a_free_one_is_not():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert stack.port_in_use(port)
    assert not stack.port_in_use(port)


def test_wait_gives_up_after_its_time_with_none():
    ticks = iter(range(100))
    assert stack.wait(lambda: False, 3, clock=lambda: next(ticks)) is None
    assert stack.wait(lambda: "found", 3) == "found"
