"""Compatibility patches for moto (SQS, Lambda, DynamoDB, EventBridge, Rekognition, Comprehend), applied in-process before
moto server starts.

Each patch fixes one measured gap between moto 5.2.5 and AWS that stops `terraform apply` of this project
from converging (1-4) or the event flow from working as in AWS (5-10); see scripts/local/README.md. They change no other behaviour, and `test_moto_patches.py` checks each against a real moto server over HTTP with boto3.

1. SetQueueAttributes without `Policy` wipes the queue policy. SQS leaves attributes that a call does not
   name untouched, so `aws_sqs_queue_policy` disappeared on the next queue update. Patched: `Policy` is only
   changed when the call names it.
2. `RedrivePolicy` is returned as `json.dumps` with spaces; SQS returns compact JSON. The provider compares
   strings, so every plan showed a diff. Patched: compact separators.
3. `RedriveAllowPolicy` is accepted but never returned, so `aws_sqs_queue_redrive_allow_policy` waits for
   minutes for it to appear (and, on destroy, for it to go). Patched: it is a readable attribute like
   `RedrivePolicy`, and setting it to "" removes it, as in SQS.
4. Lambda drops `LoggingConfig` (JSON log format, log group, log levels) on create and update and never
   returns it, so every plan wanted to set it again. Patched: kept and returned as Lambda does, defaulting to
   the Text format and the /aws/lambda/<name> group. The local runner reads it to give functions
   AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL as Lambda would.
5. A DynamoDB stream with an event-source mapping loses its records: on every write moto "invokes" the mapped
   function (it cannot run it here) and then clears the shard, even when the mapping is disabled, so
   GetRecords never sees a record and the local runner's stream mapping gets nothing. (SQS mappings already
   skip disabled ones.) Patched: disabled mappings are skipped, so the records stay in the shard for readers.
6. EventBridge ignores a target's `InputPath`: an SQS target with `InputPath = "$.detail"` gets the whole event
   instead of its detail (our rules deliver the envelope, which is the detail). Patched: a target with an
   `InputPath` of the form `$`, `$.a` or `$.a.b` gets that part of the event, as JSON; other targets as before.
7. DynamoDB conditional writes are not atomic: moto server handles requests on several threads and checks a
   write's condition, then writes, with nothing in between held, so two concurrent `attribute_not_exists(PK)`
   puts of one key can both succeed (seen: an idempotency claim taken twice, an effect run twice). In DynamoDB
   a conditional write is atomic. Patched: the backend's writes (PutItem, UpdateItem, DeleteItem,
   TransactWriteItems) run one at a time.
8. A cancelled TransactWriteItems is not atomic to readers: moto applies the items one by one, checking each
   condition just before its write, and on the first failed condition restores a copy of the whole table taken
   before the first write. Until then readers see the earlier writes, and the table's stream has their records;
   the restore then drops those records and the next writes reuse their sequence numbers. A stream reader
   (our stream publisher) that read in between publishes events of a transaction that never happened and then
   skips as many real records (seen: a rating's event twice, accepted bids' events missing, under 100
   concurrent bids). In DynamoDB the conditions are checked before anything is written. Patched: every
   condition of the transaction is checked first and, if any fails, the transaction is cancelled with the
   same reasons (ALL_OLD items included) before a single write; otherwise moto runs it as before.
9. Rekognition has no DetectModerationLabels (moto answers "not yet implemented"), so the images worker could
   not moderate a photo at all. Patched: the call exists and answers like Rekognition. The emulator has no
   model: it reports the moderation label `Violence` for an image that is mostly (90 % of its pixels) the
   test pattern magenta #FF00FF (how a test makes a photo be flagged: the worker sends the bytes of its own
   JPEG thumbnail, so only the pixels survive), none otherwise.
10. StartReplay replays the whole archive to every rule of the bus, whatever the window and the
   destination's `FilterArns`, and bypasses the targets' `InputPath` (an SQS target gets the whole event
   instead of its detail). In EventBridge a replay sends only the archived events of
   [EventStartTime, EventEndTime) and, with FilterArns, only to those rules, through their targets as any
   event. Patched: so it does (`ecobid-ops events replay --type` relies on FilterArns).
11. ReceiveMessage costs time in the square of a queue's depth: for every message it hands out, moto checks the
   retention period through GetQueueAttributes, which recounts every message of the queue (visible, in flight,
   delayed) two or three times, each count reading the clock per message. Measured: 1.4 s per receive of 10
   from a queue of 1,000 letters, so reading a 1,000-letter DLQ took over two minutes. SQS answers in
   milliseconds whatever the depth. Patched: the retention period is read from the queue itself; the same
   check, without the recounts.
12. CloudFront drops an origin's `OriginAccessControlId` (the distribution reads its S3 origin through Origin
   Access Control), so every plan wanted to set it again, and nothing could tell which OAC a distribution
   uses. Patched: kept and returned as CloudFront does.
13. CloudFront keeps any `MinimumProtocolVersion` of a distribution on the default *.cloudfront.net
   certificate; CloudFront itself sets TLSv1 there "regardless of the value that you set", and answers TLSv1,
   so a configuration asking for more plans a change forever in AWS while it converged locally. And it answers
   an empty `ACMCertificateArn`/`IAMCertificateId` and `SSLSupportMethod` `sni-only` for the default
   certificate, where CloudFront leaves those fields out (they belong to a custom certificate), so every plan
   wanted to clear `ssl_support_method`. Patched: the emulator answers TLSv1 and no custom-certificate fields
   for the default certificate, as CloudFront does.
14. Rekognition takes any image moto is given: DetectLabels and DetectModerationLabels accept a WebP, bytes of
   any size and objects of any size, where Rekognition accepts only JPEG and PNG (InvalidImageFormatException),
   at most 5 MB as bytes and 15 MB as an S3 object (ImageTooLargeException), 80 to 10,000 pixels a side, and an
   object that exists (InvalidS3ObjectException). So a worker sending a WebP passed locally and dead-lettered in
   AWS. Patched: both read the image (bytes or object) and refuse what Rekognition refuses, with its codes.
15. CloudFront answers the legacy `ForwardedValues` (query strings, cookies, headers forwarded) for a cache
   behaviour that has a cache policy; CloudFront answers it only for a behaviour without one (the cache
   policy says what is in the cache key), so every plan wanted to remove `forwarded_values`. Patched: left
   out where the behaviour has a `CachePolicyId`.
20. TransactWriteItems costs time in the size of the table: before its first write moto deep-copies every
   table it touches (each item and every stream record the table ever had), to restore on failure. Measured:
   150-180 ms per one-item transaction on a table of 1,800 items against 4 ms for a PutItem, growing with the
   table, and (patch 7) no other write runs meanwhile; so a shared stack slowed down as its suites filled it,
   until API calls ran past their Lambda timeout (seen: 503s registering 300 devices). DynamoDB's cost does
   not depend on the table's size. Patched: only the items the transaction names are saved (and the length
   of the table's stream), and on failure those items are put back and the stream cut back to that length:
   the same all-or-nothing result, readers (serialised, patch 7) never see a partial transaction.
   (Numbered after `deliveries.py`'s 16-19.)
21. Query costs time in the size of the table: moto gathers and sorts every item of the table, then keeps
   those of the asked partition (a GSI query likewise sorts them all before sorting its matches again).
   Measured: 65 ms per Query of a one-item partition on a 4,000-item table, against 3 ms for a GetItem;
   DynamoDB reads only the partition. Patched: a table query reads its partition's items only, and a GSI
   query skips the first sort (its matches are sorted by the index's keys and the table's, a total order);
   the same results in the same order.
22. Comprehend has no DetectToxicContent (moto answers "not yet implemented"), so the index worker could not
   screen a listing's text. Patched: the call exists and answers like Comprehend, refusing what it refuses
   (a language but `en`: UnsupportedLanguageException; no segment or more than 10: InvalidRequestException;
   a segment over 1 KB or 10 KB in all, read as 1,000 bytes, the stricter reading:
   TextSizeLimitExceededException). The emulator has no model: a segment holding the marker `ecobid-toxic`
   (any case) scores toxicity 0.97 with the label INSULT 0.95 (how a test makes a listing be flagged), any
   other 0.01.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from typing import Any

from moto.awslambda import models as lambda_models
from moto.cloudfront import models as cloudfront_models
from moto.comprehend import responses as comprehend_responses
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import exceptions as dynamodb_exceptions
from moto.dynamodb.models import table as table_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.events import models as events_models
from moto.rekognition import responses as rekognition_responses
from moto.s3 import models as s3_models
from moto.sqs import models as sqs_models

PATCHED_MOTO_VERSION = "5.2.5"

_Queue = sqs_models.Queue
_original_set_attributes = _Queue._set_attributes
_original_attributes = _Queue.attributes


def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
    # Patch 1: keep the current policy unless this call names `Policy`.
    previous_policy = getattr(self, "policy", None)
    _original_set_attributes(self, attributes, now)
    if "Policy" not in attributes:
        self.policy = previous_policy


def _attributes(self: Any) -> dict[str, Any]:
    result = _original_attributes.fget(self)
    # Patch 2: compact JSON, as SQS returns it.
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
    # Patch 3: RedriveAllowPolicy is returned once set, and omitted before or after it is cleared with "".
    if not result.get("RedriveAllowPolicy"):
        result.pop("RedriveAllowPolicy", None)
    return result


_Function = lambda_models.LambdaFunction
_original_function_init = _Function.__init__
_original_get_configuration = _Function.get_configuration
_original_update_configuration = _Function.update_configuration


def _function_init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
    _original_function_init(self, account_id, spec, *args, **kwargs)
    self.logging_config = {
        "LogFormat": "Text",
        "LogGroup": f"/aws/lambda/{spec['FunctionName']}",
        **(spec.get("LoggingConfig") or {}),
    }


def _get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    config = _original_get_configuration(self, *args, **kwargs)
    config["LoggingConfig"] = dict(self.logging_config)
    return config


def _update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
    if "LoggingConfig" in config_updates:
        self.logging_config = {**self.logging_config, **config_updates["LoggingConfig"]}
    return _original_update_configuration(self, config_updates)


_StreamShard = table_models.StreamShard
_original_shard_add = _StreamShard.add


def _shard_add(self: Any, old: Any, new: Any) -> None:
    # Patch 5: only enabled mappings are handed the records (and so may clear the shard).
    mappings = self.table.lambda_event_source_mappings
    enabled = {arn: esm for arn, esm in mappings.items() if getattr(esm, "enabled", True)}
    self.table.lambda_event_source_mappings = enabled
    try:
        _original_shard_add(self, old, new)
    finally:
        self.table.lambda_event_source_mappings = mappings


_Rule = events_models.Rule
_original_send_to_targets = _Rule.send_to_targets


def _input_path(event: Any, path: str) -> Any:
    if path == "$":
        return event
    if not path.startswith("$."):
        raise ValueError(f"InputPath {path!r} is not supported by the local patch (use $ or $.a.b)")
    for part in path[2:].split("."):
        event = event[part]
    return event


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    # Patch 6: targets with an InputPath get that part of the event.
    targets = self.targets
    with_path = [t for t in targets if t.get("InputPath")]
    if not with_path or not transform_input:
        return _original_send_to_targets(self, original_event, transform_input)
    if not self.event_pattern.matches_event(original_event):
        return None
    self.targets = [t for t in targets if not t.get("InputPath")]
    try:
        _original_send_to_targets(self, original_event, transform_input)
    finally:
        self.targets = targets
    from moto.sqs import sqs_backends

    for target in with_path:
        arn = events_models.parse_arn(target["Arn"])
        body = json.dumps(_input_path(original_event, target["InputPath"]))
        if arn.service != "sqs":
            raise NotImplementedError(f"InputPath targets other than SQS: {target['Arn']}")
        group_id = target.get("SqsParameters", {}).get("MessageGroupId")
        sqs_backends[self.account_id][self.region_name].send_message(
            queue_name=arn.resource_id, message_body=body, group_id=group_id
        )
    return None


_DynamoDBBackend = dynamodb_models.DynamoDBBackend
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_write_lock = threading.RLock()


def _serialized(method: Any) -> Any:
    # Patch 7: one write at a time, so a write's condition and the write itself are one step.
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return method(*args, **kwargs)

    return write


_original_transact_write_items = _DynamoDBBackend.transact_write_items


def _cancellation_reasons(backend: Any, transact_items: list[dict[str, Any]]) -> list[Any] | None:
    """Each item's reason as moto reports it, evaluated before any write; None if the precheck cannot judge."""
    if len(transact_items) > 100:
        return None
    reasons: list[Any] = []
    keys: set[str] = set()
    for item in transact_items:
        if len(item) != 1:
            return None
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            return None
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        unique = f"{op['TableName']}|{sorted(key.items())}"
        if unique in keys:
            return None  # several operations on one item: moto's validation error, as in DynamoDB
        keys.add(unique)
        condition = op.get("ConditionExpression")
        if condition is None:
            reasons.append((None, None, None))
            continue
        current = backend.get_item(op["TableName"], key)
        check = dynamodb_models.get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        )
        if check.expr(current):
            reasons.append((None, None, None))
            continue
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
    return reasons


class _TablesNotCopied:
    """Patch 20: moto.dynamodb.models' `copy`, except that a Table is not deep-copied (it is saved item by item
    in `_saved`)."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, table_models.Table):
            return value
        return copy.deepcopy(value, memo)


def _item_slot(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (hash, range) storage key of the item an operation names, None when it names none moto can store."""
    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None
    hash_key = DynamoType(attrs[table.hash_key_attr])
    if table.range_key_attr is None:
        return hash_key, None
    if table.range_key_attr not in attrs:
        return None
    return hash_key, DynamoType(attrs[table.range_key_attr])


def _saved(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """Each named item as it is now (a copy, or None), and each touched table's stream length."""
    saved: list[tuple[Any, Any, Any, Any]] = []
    for item in transact_items:
        if len(item) != 1:
            continue
        op_type, op = next(iter(item.items()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        slot = _item_slot(table, op_type, op)
        if slot is None:
            continue
        current = table.items.get(slot[0])
        if slot[1] is not None:
            current = current.get(slot[1]) if isinstance(current, dict) else None
        shard = table.stream_shard
        saved.append((table, slot, copy.deepcopy(current), None if shard is None else len(shard.items)))
    return saved


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    # In reverse, so each table's stream ends cut at the length it had before the first write.
    for table, (hash_key, range_key), before, stream_length in reversed(saved):
        if range_key is None:
            if before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before
        else:
            if before is None:
                table.items.get(hash_key, {}).pop(range_key, None)
                if hash_key in table.items and not table.items[hash_key]:
                    del table.items[hash_key]
            else:
                table.items[hash_key][range_key] = before
        if stream_length is not None and table.stream_shard is not None:
            del table.stream_shard.items[stream_length:]


_query_scope = threading.local()
# The scope of a GSI query (or one without a hash key): every partition.
_ANY_PARTITION = object()
_original_all_items = table_models.Table.all_items
_original_query = table_models.Table.query


def _all_items(self: Any) -> list[Any]:
    # Patch 21: inside a query, the items it can match, unsorted (the query sorts what it keeps).
    scope = getattr(_query_scope, "table", None)
    if scope is not self:
        return _original_all_items(self)
    partition = _query_scope.partition
    if partition is _ANY_PARTITION:
        stored = self.items.values()
    elif partition in self.items:
        stored = [self.items[partition]]
    else:
        return []
    if not self.range_key_attr:
        return list(stored)
    return [item for hash_set in stored for item in hash_set.values()]



def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name")
    if len(args) >= 7:
        index_name = args[6]
    _query_scope.table = self
    _query_scope.partition = _ANY_PARTITION if index_name or hash_key is None else hash_key
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _query_scope.table = None


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    # Patch 8: check every condition before the first write. Anything the precheck cannot judge (a malformed
    # request, an unknown table) is left to moto, which reports it as it always did.
    try:
        reasons = _cancellation_reasons(self, transact_items)
    except Exception:  # noqa: BLE001 - moto's own path raises the right error for it
        reasons = None
    if reasons and any(code is not None for code, _, _ in reasons):
        raise dynamodb_exceptions.TransactionCanceledException(reasons)
    # Patch 20: moto's own restore (of the tables it no longer copies) is a no-op; the named items are.
    saved = _saved(self, transact_items)
    try:
        return _original_transact_write_items(self, transact_items)
    except Exception:
        _restore(saved)
        raise


class _RekognitionRefusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Rekognition's set quotas (https://docs.aws.amazon.com/rekognition/latest/dg/limits.html).
_MAX_IMAGE_BYTES = 5 * 1024 * 1024
_MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
_MIN_SIDE, _MAX_SIDE = 80, 10_000
# The emulator's stand-in for unsafe content: an image mostly of this colour.
_FLAGGED_COLOUR, _FLAGGED_SHARE = (255, 0, 255), 0.9


def _image_of(response: Any) -> bytes:
    """The image a detection names (bytes, or an S3 object), refused as Rekognition refuses it."""
    import base64

    image = json.loads(response.body or "{}").get("Image") or {}
    if "Bytes" in image:
        data = base64.b64decode(image["Bytes"])
        limit = _MAX_IMAGE_BYTES
    elif image.get("S3Object", {}).get("Bucket") and image["S3Object"].get("Name"):
        s3_object = image["S3Object"]
        backend = s3_models.s3_backends[response.current_account][response.partition]
        try:
            key = backend.get_object(s3_object["Bucket"], s3_object["Name"])
        except Exception:  # noqa: BLE001 - no bucket or no key: Rekognition says it cannot reach it
            key = None
        if key is None:
            raise _RekognitionRefusal("InvalidS3ObjectException", "Unable to get object metadata from S3. Check object key, region and/or access permissions.")
        data = key.value
        limit = _MAX_S3_IMAGE_BYTES
    else:
        raise _RekognitionRefusal("InvalidParameterException", "Requested image should either contain bytes or s3 object.")
    if len(data) > limit:
        raise _RekognitionRefusal("ImageTooLargeException", f"Image size is too large: {len(data)} bytes, at most {limit}.")
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise _RekognitionRefusal("InvalidImageFormatException", "Request has invalid image format")
    return data


def _pixels(data: bytes) -> Any:
    import io

    from PIL import Image

    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except Exception as e:  # noqa: BLE001 - damaged JPEG or PNG
        raise _RekognitionRefusal("InvalidImageFormatException", f"Request has invalid image format ({e})")
    width, height = picture.size
    if min(width, height) < _MIN_SIDE or max(width, height) > _MAX_SIDE:
        raise _RekognitionRefusal(
            "InvalidParameterException",
            f"Image dimensions {width}x{height} are outside {_MIN_SIDE} to {_MAX_SIDE} pixels a side.",
        )
    return picture.convert("RGB")


def _flagged(picture: Any) -> bool:
    small = picture.resize((64, 64))
    close = sum(1 for px in small.getdata() if all(abs(a - b) <= 40 for a, b in zip(px, _FLAGGED_COLOUR)))
    return close >= _FLAGGED_SHARE * 64 * 64


def _refused(e: _RekognitionRefusal) -> tuple[str, dict[str, Any]]:
    # moto takes a response's status from its headers.
    headers = {"status": 400, "x-amzn-ErrorType": e.code, "Content-Type": "application/x-amz-json-1.1"}
    return json.dumps({"__type": e.code, "Message": e.message}), headers


def _detect_moderation_labels(self: Any) -> Any:
    # Patches 9 and 14: the image refused as Rekognition refuses it; flagged if it is the test pattern.
    try:
        labels = ["Violence"] if _flagged(_pixels(_image_of(self))) else []
    except _RekognitionRefusal as e:
        return _refused(e)
    return json.dumps(
        {
            "ModerationLabels": [
                {"Confidence": 99.0, "Name": label, "ParentName": "", "TaxonomyLevel": 1}
                for label in labels
            ],
            "ModerationModelVersion": "7.0",
        }
    )


_original_detect_labels = rekognition_responses.RekognitionResponse.detect_labels


def _detect_labels(self: Any) -> Any:
    # Patch 14: the image refused as Rekognition refuses it, before moto's fixed labels.
    try:
        _pixels(_image_of(self))
    except _RekognitionRefusal as e:
        return _refused(e)
    return _original_detect_labels(self)


# Comprehend's DetectToxicContent limits (API reference: up to 10 segments, each at most 1 KB, 10 KB in all,
# English only). 1 KB is read as 1,000 bytes, the stricter reading.
_MAX_SEGMENTS, _MAX_SEGMENT_BYTES, _MAX_TEXT_BYTES = 10, 1_000, 10_000
# The emulator's stand-in for toxic text.
_TOXIC_MARKER = "ecobid-toxic"


def _comprehend_refused(code: str, message: str) -> tuple[str, dict[str, Any]]:
    headers = {"status": 400, "x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
    return json.dumps({"__type": code, "Message": message}), headers


def _detect_toxic_content(self: Any) -> Any:
    # Patch 22: DetectToxicContent, refusing what Comprehend refuses; the marker reads as toxic.
    request = json.loads(self.body or "{}")
    if request.get("LanguageCode") != "en":
        return _comprehend_refused("UnsupportedLanguageException", "DetectToxicContent supports English (en) only.")
    segments = request.get("TextSegments") or []
    if not 1 <= len(segments) <= _MAX_SEGMENTS:
        return _comprehend_refused("InvalidRequestException", f"TextSegments must hold 1 to {_MAX_SEGMENTS} segments, not {len(segments)}.")
    sizes = [len(str(segment.get("Text", "")).encode()) for segment in segments]
    if max(sizes) > _MAX_SEGMENT_BYTES or sum(sizes) > _MAX_TEXT_BYTES:
        return _comprehend_refused("TextSizeLimitExceededException", "Input text size exceeds limit. Max length of each segment is 1KB and 10KB in all.")

    def scored(text: str) -> dict[str, Any]:
        toxic = _TOXIC_MARKER in text.lower()
        return {
            "Labels": [
                {"Name": "INSULT", "Score": 0.95 if toxic else 0.005},
                {"Name": "PROFANITY", "Score": 0.2 if toxic else 0.003},
            ],
            "Toxicity": 0.97 if toxic else 0.01,
        }

    return json.dumps({"ResultList": [scored(str(segment.get("Text", ""))) for segment in segments]})


_Replay = events_models.Replay


def _event_time(event: Any) -> float:
    t = event.get("time", 0)
    if isinstance(t, str):
        from datetime import datetime

        return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
    return float(t)


def _replay_events(self: Any, archive: Any) -> None:
    # Patch 10: the window, the FilterArns, and the targets' InputPath.
    import uuid

    backend = events_models.events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
    only = set(self.destination.get("FilterArns") or [])
    start, end = float(self.event_start_time), float(self.event_end_time)
    for event in list(archive.events):
        if not start <= _event_time(event) < end:
            continue
        replayed = dict(event, **{"id": str(uuid.uuid4()), "replay-name": self.name})
        for rule in list(bus.rules.values()):
            if not only or rule.arn in only:
                rule.send_to_targets(replayed)
    self.state = events_models.ReplayState.COMPLETED
    self.end_time = events_models.unix_time()


_SQSBackend = sqs_models.SQSBackend


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    # Patch 11: the queue's own retention period, not a full GetQueueAttributes per message.
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > sqs_models.unix_time()


_Origin = cloudfront_models.Origin
_original_origin_init = _Origin.__init__
_ViewerCertificate = cloudfront_models.ViewerCertificate
_original_viewer_certificate_init = _ViewerCertificate.__init__


def _origin_init(self: Any, origin: dict[str, Any]) -> None:
    # Patch 12: the origin's Origin Access Control is kept (and so returned).
    _original_origin_init(self, origin)
    self.origin_access_control_id = origin.get("OriginAccessControlId") or ""


def _viewer_certificate_init(self: Any, config: dict[str, Any]) -> None:
    # Patch 13: the default certificate's security policy is TLSv1, whatever was asked.
    _original_viewer_certificate_init(self, config)
    if str(self.cloud_front_default_certificate).lower() == "true":
        self.minimum_protocol_version = "TLSv1"
        self.acm_certificate_arn = None
        self.iam_certificate_id = None
        self.ssl_support_method = None


_DefaultCacheBehaviour = cloudfront_models.DefaultCacheBehaviour
_original_default_cache_behaviour_init = _DefaultCacheBehaviour.__init__
_CacheBehaviour = cloudfront_models.CacheBehaviour
_original_cache_behaviour_init = _CacheBehaviour.__init__


def _without_legacy_forwarding(behaviour: Any) -> None:
    # Patch 15: a behaviour with a cache policy has no ForwardedValues.
    if behaviour.cache_policy_id:
        behaviour.forwarded_values = None


def _default_cache_behaviour_init(self: Any, config: dict[str, Any]) -> None:
    _original_default_cache_behaviour_init(self, config)
    _without_legacy_forwarding(self)


def _cache_behaviour_init(self: Any, config: dict[str, Any]) -> None:
    _original_cache_behaviour_init(self, config)
    _without_legacy_forwarding(self)


def apply() -> None:
    """Apply every patch. Idempotent; refuses a moto release it was not written for."""
    import moto

    if moto.__version__ != PATCHED_MOTO_VERSION:
        raise RuntimeError(
            f"moto_patches targets moto {PATCHED_MOTO_VERSION}, found {moto.__version__}: "
            "re-check LOCAL_STACK.md's gaps against this release and update the patches"
        )
    if getattr(_Queue, "_ecobid_patched", False):
        return
    _Queue._set_attributes = _set_attributes
    _Queue.attributes = property(_attributes)
    # Patch 3: make the attribute readable (GetQueueAttributes validates names against this list).
    if "RedriveAllowPolicy" not in _Queue.BASE_ATTRIBUTES:
        _Queue.BASE_ATTRIBUTES = [*_Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
    _Queue.redrive_allow_policy = None
    _Function.__init__ = _function_init
    _Function.get_configuration = _get_configuration
    _Function.update_configuration = _update_configuration
    _StreamShard.add = _shard_add
    _Rule.send_to_targets = _send_to_targets
    _DynamoDBBackend.transact_write_items = _transact_write_items
    dynamodb_models.copy = _TablesNotCopied
    table_models.Table.all_items = _all_items
    table_models.Table.query = _query
    for name in _WRITES:
        setattr(_DynamoDBBackend, name, _serialized(getattr(_DynamoDBBackend, name)))
    rekognition_responses.RekognitionResponse.detect_moderation_labels = _detect_moderation_labels
    rekognition_responses.RekognitionResponse.detect_labels = _detect_labels
    comprehend_responses.ComprehendResponse.detect_toxic_content = _detect_toxic_content
    _Replay.replay_events = _replay_events
    _SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period
    _Origin.__init__ = _origin_init
    _ViewerCertificate.__init__ = _viewer_certificate_init
    _DefaultCacheBehaviour.__init__ = _default_cache_behaviour_init
    _CacheBehaviour.__init__ = _cache_behaviour_init
    _Queue._ecobid_patched = True
