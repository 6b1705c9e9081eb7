"""The cost model's reading of an end-to-end run's logs, on a small run written here."""

import json
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import cost_model  # noqa: E402

TEMPLATES = ["POST /items", "GET /items/{id}", "POST /items/{id}/reserve"]


def write(dir: pathlib.Path, name: str, lines: list[dict]) -> None:
    (dir / f"ecobid-t1-{name}.log").write_text("".join(json.dumps(l) + "\n" for l in lines) + "not json\n")


def request(correlation: str, method: str, path: str, request_id: str) -> dict:
    spans = [{"name": "request", "correlation_id": correlation, "method": method, "path": path, "request_id": request_id}]
    return {"level": "INFO", "fields": {"message": "request done", "status": 201}, "spans": spans}


def aws(service: str, op: str, correlation, unit=None) -> dict:
    return {"awsRequest": {"service": service, "operation": op}, "correlationId": correlation, "unit": unit, "function": "x"}


@pytest.fixture
def run_dir(tmp_path):
    write(tmp_path, "api", [
        request("c1", "POST", "/items", "r1"), aws("DynamoDB", "TransactWriteItems", "c1", "r1"),
        # A read in c1's flow: its own GetItem is its own; it shares nothing of what c1's write caused.
        request("c1", "GET", "/items/01HZX8Y2ABCDEF", "r2"), aws("DynamoDB", "GetItem", "c1", "r2"),
        request("c2", "POST", "/items", "r3"), aws("DynamoDB", "TransactWriteItems", "c2", "r3"),
        request("c3", "GET", "/items/01HZX8Y2ABCDEF", "r4"), aws("DynamoDB", "GetItem", "c3", "r4"),
        {"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "Requests"}, {"Name": "Latency"}]}]}, "Latency": [10.0, 30.0]},
    ])
    write(tmp_path, "stream-publisher", [
        {"level": "INFO", "fields": {"message": "event published", "correlation_id": "c1"}},
        {"level": "INFO", "fields": {"message": "event published", "correlation_id": "c2"}},
        aws("EventBridge", "PutEvents", None),  # one batch carried both events
    ])
    message = lambda c: [{"name": "message", "message_id": "m", "correlation_id": c}]
    write(tmp_path, "notifications-worker", [
        aws("DynamoDB", "Query", "c1"), aws("SNS", "Publish", "c1"), aws("SNS", "Publish", "c1"),
        {"level": "INFO", "fields": {"message": "message processed"}, "spans": message("c1")},
        aws("SNS", "Publish", "c2"), aws("SQS", "SendMessage", "c2"), aws("SQS", "SendMessage", "c2"), aws("SQS", "SendMessage", "c2"),
        {"level": "INFO", "fields": {"message": "message processed"}, "spans": message("c2")},
        aws("Scheduler", "CreateSchedule", "sweep"),  # no API request had this id
    ])
    return tmp_path


def test_each_route_gets_the_mean_chain_of_its_requests_with_shared_calls_spread(run_dir):
    run = cost_model.Run(run_dir, TEMPLATES)
    chains = run.chains()
    post = chains["POST /items"]
    assert post["requests"] == 2
    calls = {(s, o): n for (fn, s, o), n in post["calls"].items()}
    assert calls[("DynamoDB", "TransactWriteItems")] == 1
    assert calls[("SNS", "Publish")] == 1.5
    assert calls[("DynamoDB", "Query")] == 0.5
    # One PutEvents for two published events: half of it per request.
    assert calls[("EventBridge", "PutEvents")] == 0.5
    assert post["events"] == 1
    assert post["units"] == {"api": 1, "stream-publisher": 1, "notifications-worker": 1}
    get = chains["GET /items/{id}"]
    assert get["requests"] == 2
    assert {(s, o): n for (fn, s, o), n in get["calls"].items()} == {("DynamoDB", "GetItem"): 1}
    assert get["events"] == 0
    assert run.mean_duration_ms("api") == 20.0
    assert run.metrics == {("api", "Requests"), ("api", "Latency")}


def test_costs_grow_with_users_and_the_fixed_part_does_not(run_dir):
    run = cost_model.Run(run_dir, TEMPLATES)
    small, _ = cost_model.monthly_cost(run, run.chains(), 1000)
    large, _ = cost_model.monthly_cost(run, run.chains(), 10000)
    assert large["API Gateway"] == pytest.approx(10 * small["API Gateway"])
    assert large["SNS"] == pytest.approx(10 * small["SNS"])
    assert large["SQS"] < 10 * small["SQS"]  # the pollers cost the same at any traffic


def test_a_single_call_repeated_in_one_unit_of_work_is_reported_as_batchable(run_dir):
    advice = cost_model.batching_report(cost_model.Run(run_dir, TEMPLATES))
    assert any("notifications-worker" in a and "SQS.SendMessage" in a and "SendMessageBatch" in a for a in advice), advice
    assert not any("SNS.Publish" in a for a in advice), advice


def test_a_directory_without_aws_request_lines_is_refused(tmp_path):
    write(tmp_path, "api", [request("c1", "POST", "/items", "r1")])
    with pytest.raises(SystemExit, match="log_aws_requests"):
        cost_model.Run(tmp_path, TEMPLATES)


def test_the_command_prints_both_projections_beside_the_seeds(run_dir):
    main_tf = pathlib.Path(__file__).parents[2] / "terraform/main.tf"
    out = subprocess.run(
        [sys.executable, str(pathlib.Path(__file__).parent / "cost_model.py"), str(run_dir), "--terraform-main", str(main_tf)],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "seed 1k" in out and "seed 10k" in out
    assert "1,000 users: $" in out and "10,000 users: $" in out
