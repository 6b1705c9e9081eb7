"""What the emulator was asked to deliver to people: the email SES v2 accepted and the pushes SNS accepted for
each platform endpoint. The instrument of the notification tests, usable by hand (scripts/local/README.md).

    GET    /_ecobid/deliveries   -> 200 {"emails": [...], "endpoints": [...]}
    DELETE /_ecobid/deliveries   -> 204 (forgets the emails and every endpoint's messages)

- `emails`: one entry per accepted SendEmail: `messageId`, `from`, `to` (list), `subject`, `text`, `html`,
  `configurationSet`, `headers` (name -> value), `at` (epoch seconds).
- `endpoints`: every SNS platform endpoint: `arn`, `application`, `platform`, `token`, `userData`, `enabled`,
  and `messages`, the pushes it was sent (each the JSON its platform got: the `MessageStructure=json` entry for
  the platform, else `default`), in order.

The patches here also make SES v2 and SNS as strict as AWS where the notification path relies on it
(moto_patches.py's numbering continues):

16. SES v2 SendEmail accepts any `ConfigurationSetName`; SES refuses one that does not exist
    (NotFoundException), so a misnamed configuration set (and with it the suppression of bounced addresses)
    passed locally. Patched: refused, and every accepted send is recorded whole (moto keeps one body only).
17. SNS Publish with `MessageStructure=json` takes any text; SNS requires a JSON object of strings with a
    `default` entry (InvalidParameter). Patched: refused as SNS refuses it.
18. SES v2 GetConfigurationSet answers `SendingOptions` nested in itself (`{"SendingEnabled": {...}}`), which
    no SDK can read (Terraform's provider fails reading `aws_sesv2_configuration_set`). Patched: answered as
    SES does, `{"SendingEnabled": <bool>}`, enabled unless created disabled; and it answers every option
    block, unset ones as `{}`, where SES leaves them out (so Terraform planned removing `tracking_options`
    and `vdm_options` after every apply). Patched: unset blocks are left out.
19. SES v2 CreateEmailIdentity tags the identity under `...:email-identity/<name>`, but an identity's ARN
    is `arn:aws:ses:<region>:<account>:identity/<name>` (Service Authorization Reference, Amazon SES
    resource types), the one ListTagsForResource is asked about, so the tags read back empty (Terraform
    planned re-adding them after every apply). Patched: tagged under the identity's ARN. And it creates an
   identity that exists again, where SES answers AlreadyExistsException: two workspaces of one account
   claiming one sender both "created" it and retagged each other's. Patched: refused as SES refuses it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

PATH = "/_ecobid/deliveries"
_LOCK = threading.Lock()
_EMAILS: list[dict[str, Any]] = []


def _configuration_set_v2(self: Any) -> dict[str, Any]:
    options = self.enabled if isinstance(self.enabled, dict) else {"SendingEnabled": self.enabled}
    answer = {
        "ConfigurationSetName": self.configuration_set_name,
        "TrackingOptions": self.tracking_options,
        "DeliveryOptions": self.delivery_options,
        "ReputationOptions": self.reputation_options,
        "SendingOptions": {"SendingEnabled": bool(options.get("SendingEnabled", True))},
        "Tags": self.tags,
        "SuppressionOptions": self.suppression_options,
        "VdmOptions": self.vdm_options,
    }
    return {key: value for key, value in answer.items() if value}


def _check_structure(message: str) -> None:
    from moto.sns.exceptions import SNSInvalidParameter

    try:
        document = json.loads(message)
    except ValueError as e:
        raise SNSInvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse") from e
    if not isinstance(document, dict) or not isinstance(document.get("default"), str):
        raise SNSInvalidParameter("Invalid parameter: Message Structure - No default entry in JSON message body")
    if not all(isinstance(v, str) for v in document.values()):
        raise SNSInvalidParameter("Invalid parameter: Message Structure - every entry must be a string")


def _platform_payload(platform: str, raw: str) -> Any:
    """What a device of `platform` gets for a published message: its own entry of a JSON structure, else the
    default (the worker always publishes a structure; a plain message is shown as is)."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(document, dict):
        return raw
    entry = document.get(platform, document.get("default"))
    try:
        return json.loads(entry) if isinstance(entry, str) and platform in document else entry
    except ValueError:
        return entry


def _view() -> dict[str, Any]:
    from moto.sns.models import sns_backends

    endpoints = []
    for regions in sns_backends.values():
        for backend in regions.values():
            for arn, e in list(backend.platform_endpoints.items()):
                endpoints.append(
                    {
                        "arn": arn,
                        "application": e.application.arn,
                        "platform": e.application.platform,
                        "token": e.token,
                        "userData": e.custom_user_data,
                        "enabled": e.enabled,
                        "messages": [_platform_payload(e.application.platform, m) for m in e.messages.values()],
                    }
                )
    with _LOCK:
        emails = list(_EMAILS)
    return {"emails": emails, "endpoints": endpoints}


def _clear() -> None:
    from moto.sns.models import sns_backends

    with _LOCK:
        _EMAILS.clear()
    for regions in sns_backends.values():
        for backend in regions.values():
            for e in backend.platform_endpoints.values():
                e.messages.clear()


def _respond(start_response: Any, status: str, document: Any = None) -> list[bytes]:
    body = b"" if document is None else json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def wrap(app: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
    def deliveries(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") != PATH:
            return app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET":
            return _respond(start_response, "200 OK", _view())
        if method == "DELETE":
            _clear()
            return _respond(start_response, "204 No Content")
        return _respond(start_response, "405 Method Not Allowed", {"error": f"{method} {PATH}"})

    return deliveries


def install() -> None:
    """Patches 16-19 and the deliveries endpoint (idempotent)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.ses import models as ses_models
    from moto.ses.exceptions import NotFoundException
    from moto.core.exceptions import JsonRESTError
    from moto.sesv2 import models as sesv2_models
    from moto.sesv2 import responses as sesv2_responses
    from moto.utilities.utils import get_partition
    from moto.sns import models as sns_models

    if getattr(DomainDispatcherApplication, "_ecobid_deliveries", False):
        return

    send_email = sesv2_responses.SESV2Response.send_email

    def _send_email(self: Any) -> str:
        params = json.loads(self.body or "{}")
        name = params.get("ConfigurationSetName")
        backend = self.sesv2_backend.core_backend
        if name is not None and name not in backend.config_sets:
            raise NotFoundException(f"Configuration set <{name}> does not exist.")
        answer = send_email(self)
        simple = (params.get("Content") or {}).get("Simple") or {}
        body = simple.get("Body") or {}
        destination = params.get("Destination") or {}
        with _LOCK:
            _EMAILS.append(
                {
                    "messageId": json.loads(answer).get("MessageId"),
                    "from": params.get("FromEmailAddress"),
                    "to": destination.get("ToAddresses", []),
                    "subject": (simple.get("Subject") or {}).get("Data"),
                    "text": (body.get("Text") or {}).get("Data"),
                    "html": (body.get("Html") or {}).get("Data"),
                    "configurationSet": name,
                    "headers": {h.get("Name"): h.get("Value") for h in simple.get("Headers") or []},
                    "at": time.time(),
                }
            )
        return answer

    sesv2_responses.SESV2Response.send_email = _send_email
    ses_models.ConfigurationSet.to_dict_v2 = _configuration_set_v2

    create_identity = sesv2_models.SESV2Backend.create_email_identity

    def _create_email_identity(self: Any, email_identity: str, tags: Any, *args: Any, **kwargs: Any) -> Any:
        if email_identity in self.core_backend.email_identities:
            raise JsonRESTError("AlreadyExistsException", f"Email identity {email_identity} already exists.")
        identity = create_identity(self, email_identity, None, *args, **kwargs)
        identity.tags = tags or []
        if tags:
            partition = get_partition(self.region_name)
            arn = f"arn:{partition}:ses:{self.region_name}:{self.account_id}:identity/{email_identity}"
            self.core_backend.tagger.tag_resource(arn, tags)
        return identity

    sesv2_models.SESV2Backend.create_email_identity = _create_email_identity

    publish = sns_models.SNSBackend.publish

    def _publish(self: Any, message: str, arn: str | None, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("message_structure") == "json":
            _check_structure(message)
        return publish(self, message, arn, *args, **kwargs)

    sns_models.SNSBackend.publish = _publish

    dispatch = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        return wrap(lambda e, s: dispatch(self, e, s))(environ, start_response)

    DomainDispatcherApplication.__call__ = __call__
    DomainDispatcherApplication._ecobid_deliveries = True
