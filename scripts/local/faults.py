"""Fault injection on the local stack: make a named AWS operation fail with a given error, N times or for T
seconds, optionally only for requests that name a resource. The instrument of the outage and delivery tests,
usable by hand with curl (see README.md, "Fault injection").

A fault is registered over HTTP on moto's own port, beside the AWS APIs:

    POST   /_ecobid/faults        {"service": "s3", "operation": "PutObject", "code": "SlowDown", "status": 503,
                                   "times": 3, "seconds": 60, "match": "my-bucket/some/key", "message": "..."}
                                  -> 201 {"id": "...", ...}
    GET    /_ecobid/faults        -> 200 {"faults": [{..., "hits": 2, "active": true}]}
    DELETE /_ecobid/faults/<id>   -> 204 (that fault);  DELETE /_ecobid/faults -> 204 (all)

- `service` is the service's signing name, as the SDKs sign requests (`s3`, `dynamodb`, `sqs`, `sns`, `ses`,
  `rekognition`, `events`, `scheduler`, `lambda`, ...); `operation` the API operation (`PutObject`, `PutItem`,
  `Publish`, `SendEmail`, ...).
- `times` (fail that many matching requests, then pass) and `seconds` (fail for that long from now) bound a
  fault; with both, whichever ends first; with neither, it lasts until deleted.
- `match`: only requests whose resource text (host, path, query, and the body of JSON or form requests, where
  table names, queue URLs and topic ARNs travel) contains this string.
- The error is answered in the request's own protocol (JSON with `__type`, the query protocol's XML
  ErrorResponse, S3's XML Error, or REST-JSON with `x-amzn-ErrorType`), so the SDK reports exactly `code` and
  classifies it as it would AWS's answer: a 5xx or a throttling code is retried by the SDK first.

Nothing is changed when no fault is registered: requests pass straight through.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs, unquote_plus

CONTROL_PATH = "/_ecobid/faults"
# Bodies longer than this are not read for matching (uploads): their resource is in the path anyway.
_MAX_MATCHED_BODY = 256 * 1024
# The SDKs' signing names that moto's service models know under another name.
_SERVICE_MODELS = {"events": "events", "monitoring": "cloudwatch", "email": "ses"}


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    status: int
    message: str
    times: int | None = None
    until: float | None = None
    match: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0

    def active(self, now: float) -> bool:
        return (self.times is None or self.hits < self.times) and (self.until is None or now < self.until)

    def view(self, now: float) -> dict[str, Any]:
        return {**asdict(self), "active": self.active(now)}


class FaultError(ValueError):
    """A fault definition that cannot be used; the message names the field."""


def parse(spec: Any, now: float) -> Fault:
    """A fault from its JSON definition, refusing what it cannot mean."""
    if not isinstance(spec, dict):
        raise FaultError("a fault is a JSON object")
    unknown = set(spec) - {"service", "operation", "code", "status", "message", "times", "seconds", "match"}
    if unknown:
        raise FaultError(f"unknown field(s): {', '.join(sorted(unknown))}")
    for name in ("service", "operation", "code"):
        if not isinstance(spec.get(name), str) or not spec[name]:
            raise FaultError(f"{name} is required (a non-empty string)")
    status = spec.get("status", 400)
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise FaultError("status must be an HTTP error status, 400 to 599")
    times = spec.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise FaultError("times must be a whole number of at least 1")
    seconds = spec.get("seconds")
    if seconds is not None and (not isinstance(seconds, (int, float)) or seconds <= 0):
        raise FaultError("seconds must be a positive number")
    match = spec.get("match")
    if match is not None and (not isinstance(match, str) or not match):
        raise FaultError("match must be a non-empty string")
    return Fault(
        service=spec["service"].lower(),
        operation=spec["operation"],
        code=spec["code"],
        status=status,
        message=spec.get("message") or f"injected fault: {spec['code']}",
        times=times,
        until=None if seconds is None else now + float(seconds),
        match=match,
    )


class Faults:
    """The registered faults (thread-safe: moto serves requests on several threads)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._clock = clock

    def add(self, spec: Any) -> Fault:
        fault = parse(spec, self._clock())
        with self._lock:
            self._faults.append(fault)
        return fault

    def views(self) -> list[dict[str, Any]]:
        now = self._clock()
        with self._lock:
            return [f.view(now) for f in self._faults]

    def clear(self, fault_id: str | None = None) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return len(self._faults) < before

    def any(self) -> bool:
        return bool(self._faults)

    def take(self, service: str, operation: str, subject: str) -> Fault | None:
        """The first active fault this request matches, its hit counted; None if the request passes."""
        now = self._clock()
        with self._lock:
            for f in self._faults:
                if (
                    f.service == service
                    and f.operation == operation
                    and (f.match is None or f.match in subject)
                    and f.active(now)
                ):
                    f.hits += 1
                    return f
        return None


FAULTS = Faults()


# ---- reading a request ---------------------------------------------------------------------------------


def _body(environ: dict[str, Any]) -> bytes:
    """The request body, for matching, when it is a JSON or form document; the stream is put back."""
    content_type = environ.get("CONTENT_TYPE", "")
    if not any(t in content_type for t in ("json", "x-www-form-urlencoded")):
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if not 0 < length <= _MAX_MATCHED_BODY:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _decoded(environ: dict[str, Any], body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    return unquote_plus(text) if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") else text


def _signing_service(environ: dict[str, Any]) -> str | None:
    """The service a SigV4-signed request is for (its credential scope), header or presigned query."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    credential = ""
    if "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        credential = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0]
    parts = credential.split("/")
    return parts[3].lower() if len(parts) == 5 else None


def _operation(environ: dict[str, Any], service: str, body: bytes) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    for source in (environ.get("QUERY_STRING", ""), body.decode("utf-8", "replace")):
        action = parse_qs(source).get("Action")
        if action:
            return action[0]
    # REST protocols (S3, Scheduler, SES v2, Lambda ...): moto's own router of the service model.
    from moto.core.request import Request
    from moto.core.routing import get_service_router

    model = _SERVICE_MODELS.get(service, service)
    if service == "ses" and environ.get("PATH_INFO", "").startswith("/v2/"):
        model = "sesv2"
    try:
        operation, _ = get_service_router(model).match(Request(dict(environ)))
        return operation.name
    except Exception:  # noqa: BLE001 - an unroutable request is no fault's business
        return None


# ---- answering as the service would ----------------------------------------------------------------------


def _error_response(environ: dict[str, Any], service: str, fault: Fault) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    status = f"{fault.status} Injected"
    common = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0"
        return status, [("Content-Type", content_type), ("x-amzn-ErrorType", fault.code), *common], body
    if service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{_xml(fault.code)}</Code><Message>{_xml(fault.message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return status, [("Content-Type", "application/xml"), *common], body
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") or "Action=" in environ.get("QUERY_STRING", ""):
        kind = "Sender" if fault.status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{_xml(fault.code)}</Code>"
            f"<Message>{_xml(fault.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return status, [("Content-Type", "text/xml"), *common], body
    body = json.dumps({"message": fault.message, "Message": fault.message}).encode()
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault.code), *common], body


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(start_response: Any, status: str, document: Any = None) -> list[bytes]:
    body = b"" if document is None else json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    rest = environ.get("PATH_INFO", "")[len(CONTROL_PATH) :].strip("/")
    if method == "GET" and not rest:
        return _json(start_response, "200 OK", {"faults": FAULTS.views()})
    if method == "POST" and not rest:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            spec = json.loads(environ["wsgi.input"].read(length) or b"null")
            fault = FAULTS.add(spec)
        except (ValueError, FaultError) as e:
            return _json(start_response, "400 Bad Request", {"error": str(e)})
        return _json(start_response, "201 Created", fault.view(time.time()))
    if method == "DELETE":
        if not rest:
            FAULTS.clear()
            return _json(start_response, "204 No Content")
        if FAULTS.clear(rest):
            return _json(start_response, "204 No Content")
        return _json(start_response, "404 Not Found", {"error": f"no fault {rest}"})
    return _json(start_response, "405 Method Not Allowed", {"error": f"{method} {CONTROL_PATH}/{rest}"})


def wrap(app: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
    """A WSGI app that serves the control API and fails matching requests before `app` sees them."""

    def faulty(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/"):
            return _control(environ, start_response)
        if not FAULTS.any():
            return app(environ, start_response)
        service = _signing_service(environ)
        if service is None:
            return app(environ, start_response)
        body = _body(environ)
        operation = _operation(environ, service, body)
        if operation is None:
            return app(environ, start_response)
        # Form bodies (the query protocol) and query strings are matched decoded: ARNs travel percent-encoded.
        subject = " ".join(
            [
                environ.get("HTTP_HOST", ""),
                path,
                unquote_plus(environ.get("QUERY_STRING", "")),
                _decoded(environ, body),
            ]
        )
        fault = FAULTS.take(service, operation, subject)
        if fault is None:
            return app(environ, start_response)
        status, headers, payload = _error_response(environ, service, fault)
        # The request's own body is not read by anyone: drain it so the connection stays usable.
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length:
                environ["wsgi.input"].read(length)
        except (ValueError, OSError):
            pass
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]

    return faulty


def install() -> None:
    """Put the fault layer in front of every moto server of this process (idempotent)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication, "_ecobid_faults", False):
        return
    dispatch = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        return wrap(lambda e, s: dispatch(self, e, s))(environ, start_response)

    DomainDispatcherApplication.__call__ = __call__
    DomainDispatcherApplication._ecobid_faults = True
