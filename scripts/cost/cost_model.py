"""EcoBid's monthly AWS cost at 1,000 and 10,000 users, from what an end-to-end run measured.

Input: the log directory of a local runner that carried the end-to-end run (one `<function>.log` per Lambda).
With `log_aws_requests` on (the local stack's tfvars), every function writes one line per AWS request it makes,
`{"awsRequest": {"service", "operation"}, "correlationId", "function"}`; the API logs one `request done` line per
request, under its correlation id, which every event and message of that request carries. So each API request
has a measured *chain*: the AWS requests it caused in every function, the worker messages it caused, the events
it published. Requests made outside any correlation (e.g. a stream batch's PutEvents) are shared out over the
units of work of their function (events published, messages handled).

The chains per route, times the usage assumptions below, times list prices, give the monthly cost. It is printed
beside the seeds' projection (design/architecture-decision.md: $20/month at 1k users, $200 at 10k).

    python3 cost_model.py LOG_DIR [--terraform-main terraform/main.tf] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import re
import sys

DAYS_PER_MONTH = 30.4

# Usage per 1,000 users per day (10,000 users: ten times each). The seed assumed 100 items/day per 1,000
# users; the rest is ours, written down so it can be argued with.
USAGE_PER_1000_USERS_PER_DAY = {
    "POST /items": 100,  # the seed's 100 items/day; 70 % given away, 30 % auctioned
    "POST /items/{id}/photos": 200,  # two photos per item
    "POST /items/{id}/reserve": 60,  # most free items get reserved
    "POST /reservations/{id}/confirm": 50,
    "POST /reservations/{id}/complete": 45,  # the rest expire (their expiry runs in the reserve chain)
    "POST /reservations/{id}/cancel": 5,
    "POST /users/{id}/ratings": 80,  # both sides of most completions and auctions
    "POST /auctions": 30,
    "POST /auctions/{id}/bids": 240,  # eight bids per auction
    "GET /items": 1500,  # browsing: 1.5 list pages per user per day
    "GET /items/{id}": 1000,
    "GET /auctions/{id}": 300,
    "GET /auctions/{id}/bids": 200,
    "GET /reservations/{id}": 100,
    "GET /users/me": 300,
    "PUT /users/me": 10,
    "POST /users/me/devices": 20,
    "DELETE /items/{id}": 5,
}
# DOMAIN.md's flows 1-4, as the API requests a user makes in each (the chains add what they cause downstream).
FLOWS = {
    "1 post a free item": {"POST /items": 1},
    "2 reserve, confirm, complete, rate twice": {
        "POST /items/{id}/reserve": 1,
        "POST /reservations/{id}/confirm": 1,
        "POST /reservations/{id}/complete": 1,
        "POST /users/{id}/ratings": 2,
    },
    "3 quick auction with 8 bids": {"POST /auctions": 1, "POST /auctions/{id}/bids": 8},
    "4 photo (upload, thumbnails, labels)": {"POST /items/{id}/photos": 1},
}
PHOTO_ROUTE = "POST /items/{id}/photos"
PHOTO_MB = 3.0  # an uploaded phone photo
THUMBNAILS_MB = 0.25  # its three thumbnails, kept
UPLOAD_DAYS = 30  # uploads expire after upload_expiration_days (storage module default)
STORAGE_MONTH = 12  # storage is priced as it stands after a year of the same usage
ITEM_KB = 8  # an item with its photos, reservation/auction, bids and outbox rows in the table

# Memory of each function (terraform/variables.tf defaults), by the function name's suffix.
MEMORY_MB = {"api": 512, "images-worker": 1024}
DEFAULT_MEMORY_MB = 256

# List prices, USD, eu-west-1 (November 2026), without free tiers.
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86_64 (arm64: 0.0000133334)
    "http_api_request": 1.11 / 1e6,
    "dynamodb_wru": 0.7063 / 1e6,  # on demand
    "dynamodb_rru": 0.1413 / 1e6,
    "dynamodb_gb_month": 0.283,
    "sqs_request": 0.40 / 1e6,
    "sns_publish": 0.50 / 1e6,
    "sns_mobile_push": 0.50 / 1e6,
    "sns_email": 2.00 / 1e5,
    "ses_email": 0.10 / 1e3,  # SES outbound, per message (no attachments)
    "kms_key_month": 1.00,  # the admin alerts topic's customer-managed key
    "eventbridge_event": 1.00 / 1e6,
    "scheduler_invocation": 1.00 / 1e6,
    "s3_put": 0.005 / 1e3,
    "s3_get": 0.0004 / 1e3,
    "s3_gb_month": 0.023,
    "rekognition_image": 0.001,  # DetectLabels and DetectModerationLabels, each
    # DetectToxicContent at Comprehend's NLP rate: $0.0001 per 100-character unit, 3 units at least per
    # request; a listing's title and description are mostly under 300 characters.
    "comprehend_request": 3 * 0.0001,
    "cloudwatch_metric_month": 0.30,
    "cloudwatch_alarm_metric_month": 0.10,
    "cloudwatch_dashboard_month": 3.00,
    "cloudwatch_logs_gb": 0.57,
    "xray_trace": 5.00 / 1e6,
}

# Fixed, whatever the traffic.
SQS_POLLING_QUEUES = 5  # images, notifications, expiries, auction-closes, index
SQS_POLLS_PER_QUEUE_MONTH = 5 * 3 * 60 * 24 * DAYS_PER_MONTH  # Lambda's 5 long-polling pollers, 20 s each
# DLQ depth ×7; error rate ×6 (3 metrics); API 5xx (2); table throttles (2); AWS/Lambda Errors and Throttles
# ×7 functions; the stream's IteratorAge; API Gateway's 5xx rate (2).
ALARM_METRICS = 7 * 1 + 6 * 3 + 2 + 2 + 7 * 2 + 1 + 2

# DynamoDB request units per call, for items of a few KB (reads eventually consistent).
DYNAMODB_UNITS = {
    "GetItem": ("rru", 1),
    "Query": ("rru", 2),
    "BatchGetItem": ("rru", 4),
    "Scan": ("rru", 8),
    "PutItem": ("wru", 2),
    "UpdateItem": ("wru", 2),
    "DeleteItem": ("wru", 1),
    "TransactWriteItems": ("wru", 12),  # ~3 items, 2 KB each, transactions cost double
    "BatchWriteItem": ("wru", 10),
}

# Seeds' projection (design/architecture-decision.md), by service.
SEED = {
    1000: {"Lambda": 5, "DynamoDB": 10, "API Gateway": 3, "S3": 2},
    10000: {"Lambda": 50, "DynamoDB": 100, "API Gateway": 30, "S3": 20},
}

ID_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{8,}$")
LEVELS_IN_PRODUCTION = {"INFO", "WARN", "ERROR"}


def route_templates(terraform_main: pathlib.Path) -> list[str]:
    """The API's routes, from the root module's api_routes (the one list of them)."""
    text = terraform_main.read_text()
    block = text[text.index("api_routes = {") :]
    block = block[: block.index("\n  }")]
    return re.findall(r'"((?:GET|POST|PUT|DELETE|PATCH) [^"]+)"', block)


def match_route(method: str, path: str, templates: list[str]) -> str | None:
    parts = [p for p in path.split("/") if p]
    for t in templates:
        t_method, t_path = t.split(" ", 1)
        t_parts = [p for p in t_path.split("/") if p]
        if t_method != method or len(t_parts) != len(parts):
            continue
        if all(tp == p or (tp.startswith("{") and tp.endswith("}")) for tp, p in zip(t_parts, parts)):
            return t
    return None


def span_field(line: dict, name: str):
    for span in reversed(line.get("spans", [])):
        if name in span:
            return span[name]
    return line.get("span", {}).get(name)


class Run:
    """What one end-to-end run's logs say."""

    def __init__(self, log_dir: pathlib.Path, templates: list[str]):
        self.route_of = {}  # API request id -> route
        self.requests = collections.defaultdict(list)  # correlation id -> its API request ids
        self.api_calls = collections.defaultdict(collections.Counter)  # request id -> (function, service, op) -> n
        self.calls = collections.defaultdict(collections.Counter)  # correlation -> (function, service, op) -> n
        self.units = collections.defaultdict(collections.Counter)  # correlation -> function -> units of work
        self.events = collections.Counter()  # correlation -> events published
        self.shared = collections.Counter()  # (function, service, op) -> calls outside any correlation
        self.unit_total = collections.Counter()  # function -> units
        self.durations = collections.defaultdict(list)  # function -> ms per unit
        self.log_bytes = collections.Counter()  # function -> bytes logged at INFO and above, and EMF
        self.metrics = set()  # (function, metric name): custom metrics
        logs = sorted(log_dir.glob("*.log"))
        if not logs:
            raise SystemExit(f"error: no function logs (*.log) in {log_dir}")
        prefix = self._prefix([p.stem for p in logs])
        self.api_function = "api"  # the API Lambda, `<prefix>api`
        for path in logs:
            function = path.stem[len(prefix) :]
            for raw in path.read_text(errors="replace").splitlines():
                if not raw.startswith("{"):
                    continue
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                self._line(function, line, len(raw) + 1, templates)
        if not self.route_of:
            raise SystemExit(f"error: no API request lines in {log_dir}: is it an end-to-end run's log directory?")
        if not self.api_calls and not self.calls:
            raise SystemExit(f"error: no AWS request lines in {log_dir}: the stack must apply log_aws_requests = true")

    @staticmethod
    def _prefix(names: list[str]) -> str:
        api = [n for n in names if n.endswith("-api")]
        return api[0][: -len("api")] if api else ""

    def _line(self, function: str, line: dict, size: int, templates: list[str]) -> None:
        if "awsRequest" in line:
            key = (function, line["awsRequest"]["service"], line["awsRequest"]["operation"])
            correlation, unit = line.get("correlationId"), line.get("unit")
            if function == self.api_function and unit:
                self.api_calls[unit][key] += 1  # the request's own calls
            elif correlation:
                self.calls[correlation][key] += 1
            else:
                self.shared[key] += 1
            return
        if "_aws" in line:
            self.log_bytes[function] += size
            for directive in line["_aws"].get("CloudWatchMetrics", []):
                for metric in directive.get("Metrics", []):
                    self.metrics.add((function, metric["Name"]))
            for name in ("MessageDuration", "Latency"):
                values = line.get(name)
                if values is not None:
                    self.durations[function].extend(values if isinstance(values, list) else [values])
            return
        level = line.get("level", "")
        if level in LEVELS_IN_PRODUCTION:
            self.log_bytes[function] += size
        fields = line.get("fields", {})
        message = fields.get("message")
        if message == "request done":
            correlation = span_field(line, "correlation_id")
            request_id = span_field(line, "request_id")
            route = match_route(span_field(line, "method") or "", span_field(line, "path") or "", templates)
            if correlation and request_id and route:
                self.route_of[request_id] = route
                self.requests[correlation].append(request_id)
                self.unit_total[function] += 1
        elif message == "event published":
            correlation = fields.get("correlation_id") or span_field(line, "correlation_id")
            self.unit_total[function] += 1
            if correlation:
                self.units[correlation][function] += 1
                self.events[correlation] += 1
        elif message and span_field(line, "message_id") is not None and (
            message == "message processed" or message.startswith("message failed")
        ):
            # The worker runtime's outcome line per message: processed, failed (transiently or permanently).
            correlation = span_field(line, "correlation_id")
            self.unit_total[function] += 1
            if correlation:
                self.units[correlation][function] += 1

    def chains(self):
        """Per route: requests seen, and the mean chain per request (calls, units of work, events).

        A request's own API calls are its own. What a correlation id caused downstream (events, worker
        messages and their calls) is shared by its requests that write (a flow's reads cause nothing downstream).
        """
        shared_per_unit = collections.defaultdict(dict)
        for (fn, service, op), n in self.shared.items():
            if self.unit_total[fn]:
                shared_per_unit[fn][(fn, service, op)] = n / self.unit_total[fn]
        per_route = {}

        def entry(route):
            return per_route.setdefault(
                route, {"requests": 0, "calls": collections.Counter(), "units": collections.Counter(), "events": 0.0}
            )

        for request_id, route in self.route_of.items():
            r = entry(route)
            r["requests"] += 1
            r["units"][self.api_function] += 1
            for key, n in self.api_calls.get(request_id, {}).items():
                r["calls"][key] += n
        for correlation, request_ids in self.requests.items():
            writers = [q for q in request_ids if not self.route_of[q].startswith("GET ")] or request_ids
            share = 1 / len(writers)
            for q in writers:
                r = entry(self.route_of[q])
                for key, n in self.calls.get(correlation, {}).items():
                    r["calls"][key] += n * share
                for fn, n in self.units.get(correlation, {}).items():
                    r["units"][fn] += n * share
                    for key, per_unit in shared_per_unit.get(fn, {}).items():
                        r["calls"][key] += n * share * per_unit
                r["events"] += self.events.get(correlation, 0) * share
        for r in per_route.values():
            k = r["requests"]
            r["calls"] = {key: v / k for key, v in r["calls"].items()}
            r["units"] = {fn: v / k for fn, v in r["units"].items()}
            r["events"] /= k
        return per_route

    def mean_duration_ms(self, function: str) -> float:
        values = self.durations.get(function)
        return sum(values) / len(values) if values else 50.0

    def log_bytes_per_unit(self, function: str) -> float:
        return self.log_bytes[function] / self.unit_total[function] if self.unit_total[function] else 0.0


def memory_gb(function: str) -> float:
    for suffix, mb in MEMORY_MB.items():
        if function.endswith(suffix):
            return mb / 1024
    return DEFAULT_MEMORY_MB / 1024


def monthly_cost(run: Run, chains: dict, users: int) -> tuple[dict, dict]:
    """Cost by service for `users`, and the volumes behind it."""
    scale = users / 1000 * DAYS_PER_MONTH
    cost = collections.Counter()
    volume = collections.Counter()
    for route, per_day in USAGE_PER_1000_USERS_PER_DAY.items():
        chain = chains.get(route)
        if chain is None:
            continue
        n = per_day * scale
        volume["api requests"] += n
        cost["API Gateway"] += n * PRICE["http_api_request"]
        for (fn, service, op), calls in chain["calls"].items():
            c = n * calls
            volume[f"{service}.{op}"] += c
            if service == "DynamoDB":
                kind, units = DYNAMODB_UNITS.get(op, ("rru", 1))
                cost["DynamoDB"] += c * units * PRICE[f"dynamodb_{kind}"]
            elif service == "SQS":
                cost["SQS"] += c * PRICE["sqs_request"]
            elif service == "SNS":
                if op == "Publish":
                    # Users' notices: one Publish per device endpoint, a mobile push each.
                    cost["SNS"] += c * (PRICE["sns_publish"] + PRICE["sns_mobile_push"])
                else:
                    cost["SNS"] += c * PRICE["sns_publish"]
            elif service in ("SESv2", "SES", "SesV2"):
                if op == "SendEmail":
                    cost["SES"] += c * PRICE["ses_email"]
            elif service == "S3":
                cost["S3"] += c * (PRICE["s3_get"] if op.startswith(("Get", "Head")) else PRICE["s3_put"])
            elif service == "Rekognition":
                cost["Rekognition"] += c * PRICE["rekognition_image"]
            elif service == "Comprehend":
                cost["Comprehend"] += c * PRICE["comprehend_request"]
            elif service == "Scheduler":
                if op == "CreateSchedule":
                    cost["EventBridge Scheduler"] += c * PRICE["scheduler_invocation"]
            # EventBridge is priced per event published (below), not per PutEvents call; STS and the like are free.
        events = n * chain["events"]
        volume["events"] += events
        cost["EventBridge"] += events * PRICE["eventbridge_event"]
        if route == PHOTO_ROUTE:
            volume["photo uploads"] += n
            cost["S3"] += n * PRICE["s3_put"]  # the app's presigned POST
        # Lambda: the API's invocation, and one per unit of work downstream (batches make it fewer).
        for fn, units in chain["units"].items():
            invocations = n * units
            volume["lambda invocations"] += invocations
            seconds = invocations * run.mean_duration_ms(fn) / 1000
            cost["Lambda"] += invocations * PRICE["lambda_request"] + seconds * memory_gb(fn) * PRICE["lambda_gb_second"]
            cost["X-Ray"] += invocations * PRICE["xray_trace"]
            cost["CloudWatch"] += invocations * run.log_bytes_per_unit(fn) / 1e9 * PRICE["cloudwatch_logs_gb"]
    # Storage after STORAGE_MONTH months of the same usage.
    photos_per_day = USAGE_PER_1000_USERS_PER_DAY[PHOTO_ROUTE] * users / 1000
    s3_gb = photos_per_day * (UPLOAD_DAYS * PHOTO_MB + STORAGE_MONTH * DAYS_PER_MONTH * THUMBNAILS_MB) / 1024
    volume["S3 GB stored"] = s3_gb
    cost["S3"] += s3_gb * PRICE["s3_gb_month"]
    items = USAGE_PER_1000_USERS_PER_DAY["POST /items"] * users / 1000 * DAYS_PER_MONTH * STORAGE_MONTH
    table_gb = items * ITEM_KB / 1e6
    volume["table GB"] = table_gb
    cost["DynamoDB"] += table_gb * PRICE["dynamodb_gb_month"]
    # Fixed: SQS pollers of the event-source mappings, custom metrics, alarms, the dashboard.
    polls = SQS_POLLING_QUEUES * SQS_POLLS_PER_QUEUE_MONTH
    volume["SQS polls"] = polls
    cost["SQS"] += polls * PRICE["sqs_request"]
    cost["CloudWatch"] += (
        len(run.metrics) * PRICE["cloudwatch_metric_month"]
        + ALARM_METRICS * PRICE["cloudwatch_alarm_metric_month"]
        + PRICE["cloudwatch_dashboard_month"]
    )
    cost["KMS"] += PRICE["kms_key_month"]
    return dict(cost), dict(volume)


def batching_report(run: Run) -> list[str]:
    """Single-item calls that a batch call could have carried: several in one unit of work of a function."""
    batchable = {
        ("SQS", "SendMessage"): "SendMessageBatch",
        ("SQS", "DeleteMessage"): "DeleteMessageBatch",
        ("SQS", "ChangeMessageVisibility"): "ChangeMessageVisibilityBatch",
        # SNS.Publish is not here: topics get PublishBatch already; a push to one device endpoint has no batch.
        ("DynamoDB", "GetItem"): "BatchGetItem",
        ("EventBridge", "PutEvents"): "PutEvents with 10 entries",
    }
    lines = []
    totals = collections.Counter()
    for calls in list(run.calls.values()) + list(run.api_calls.values()):
        for key, n in calls.items():
            totals[key] += n
    for (fn, service, op), n in sorted(totals.items()):
        batch = batchable.get((service, op))
        units = run.unit_total[fn]
        if batch and units and n / units > 1.05:
            lines.append(f"  {fn}: {n} {service}.{op} over {units} units of work ({n / units:.2f} each): {batch}?")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_dir", type=pathlib.Path)
    parser.add_argument("--terraform-main", type=pathlib.Path, default=pathlib.Path(__file__).parents[2] / "terraform/main.tf")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    if not args.log_dir.is_dir():
        print(f"error: {args.log_dir} is not a directory of function logs", file=sys.stderr)
        return 2
    run = Run(args.log_dir, route_templates(args.terraform_main))
    chains = run.chains()

    print(f"Measured chains ({args.log_dir}): AWS requests per API request, in every function it reached")
    print(f"  {'route':34} {'seen':>5} {'AWS req':>8} {'events':>7}  by service")
    for route in sorted(chains, key=lambda r: -sum(chains[r]["calls"].values())):
        c = chains[route]
        by_service = collections.Counter()
        for (fn, service, op), n in c["calls"].items():
            by_service[service] += n
        services = ", ".join(f"{s} {n:.1f}" for s, n in by_service.most_common())
        print(f"  {route:34} {c['requests']:>5} {sum(c['calls'].values()):>8.1f} {c['events']:>7.1f}  {services}")
    print("\nFlows (DOMAIN.md): AWS requests each makes, from the chains above")
    for flow, steps in FLOWS.items():
        by_service = collections.Counter()
        for route, times in steps.items():
            for (fn, service, op), n in chains.get(route, {"calls": {}})["calls"].items():
                by_service[service] += n * times
        unmeasured = [r for r in steps if r not in chains]
        services = ", ".join(f"{s} {n:.1f}" for s, n in by_service.most_common())
        note = f" (not measured: {', '.join(unmeasured)})" if unmeasured else ""
        print(f"  {flow:42} {sum(by_service.values()):>6.1f}  {services}{note}")
    missing = sorted(set(USAGE_PER_1000_USERS_PER_DAY) - set(chains))
    if missing:
        print(f"  not exercised by the run, so not costed: {', '.join(missing)}")
    background = sum(sum(c.values()) for k, c in run.calls.items() if k not in run.requests)
    api_unattributed = sum(n for (fn, _, _), n in run.shared.items() if fn == run.api_function)
    print(f"  AWS requests under a correlation id no API request had (scheduled sweeps, other tests): {background}")
    if api_unattributed:
        print(f"  API requests made outside any request: {api_unattributed}")
    print(f"  custom metrics (function x EMF metric): {len(run.metrics)}")
    advice = batching_report(run)
    print("Batching: " + ("single calls a batch could carry:\n" + "\n".join(advice) if advice else "no unit of work makes a single-item call more than once where a batch call exists"))

    print("\nUsage per 1,000 users per day (10,000 users: x10):")
    print("  " + ", ".join(f"{route} {n}" for route, n in USAGE_PER_1000_USERS_PER_DAY.items()))
    print(f"  photos {PHOTO_MB} MB (uploads kept {UPLOAD_DAYS} days), thumbnails {THUMBNAILS_MB} MB kept; storage after {STORAGE_MONTH} months;")
    print(f"  list prices eu-west-1, no free tier; {SQS_POLLING_QUEUES} SQS event-source mappings polling; {ALARM_METRICS} alarm metrics; 1 dashboard")

    results = {users: monthly_cost(run, chains, users) for users in (1000, 10000)}
    services = sorted({s for cost, _ in results.values() for s in cost}, key=lambda s: -results[10000][0].get(s, 0))
    print(f"\nMonthly cost (USD)      {'1k users':>10} {'seed 1k':>9} {'10k users':>10} {'seed 10k':>9}")
    for s in services:
        seed = lambda u: f"{SEED[u][s]:>9.0f}" if s in SEED[u] else f"{'-':>9}"
        print(f"  {s:21} {results[1000][0].get(s, 0):>10.2f} {seed(1000)} {results[10000][0].get(s, 0):>10.2f} {seed(10000)}")
    totals = {u: sum(results[u][0].values()) for u in results}
    print(f"  {'total':21} {totals[1000]:>10.2f} {sum(SEED[1000].values()):>9.0f} {totals[10000]:>10.2f} {sum(SEED[10000].values()):>9.0f}")
    for u in (1000, 10000):
        seed_total = sum(SEED[u].values())
        verdict = "within" if totals[u] <= seed_total else "OVER"
        print(f"  {u:,} users: ${totals[u]:.2f}/month, {verdict} the seed's ${seed_total}")
    if args.json:
        args.json.write_text(json.dumps({
            "chains": {r: {"requests": c["requests"], "aws_requests": sum(c["calls"].values()), "events": c["events"]} for r, c in chains.items()},
            "monthly": {str(u): {"by_service": results[u][0], "volume": results[u][1], "total": totals[u]} for u in results},
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
