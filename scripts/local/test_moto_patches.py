"""Each moto patch, checked over real HTTP with boto3 against a patched moto server (run by scripts/test)."""

from __future__ import annotations

import io
import json
import socket
import zipfile

import boto3
import pytest
from moto.server import ThreadedMotoServer

import moto_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    """A factory of boto3 clients of a patched moto server running over HTTP in this process."""
    moto_server.configure()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield lambda service: boto3.client(
            service,
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


def _zip_with_bootstrap() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\nexit 0\n")
    return buf.getvalue()


def test_lambda_logging_config_is_kept_and_returned(client):
    iam, lam = client("iam"), client("lambda")
    role = iam.create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    common = {"Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role, "Code": {"ZipFile": _zip_with_bootstrap()}}
    # GIVEN a function created without LoggingConfig THEN it reports Lambda's defaults
    lam.create_function(FunctionName="plain", **common)
    assert lam.get_function(FunctionName="plain")["Configuration"]["LoggingConfig"] == {
        "LogFormat": "Text",
        "LogGroup": "/aws/lambda/plain",
    }
    # GIVEN one created with JSON logs THEN it reports them
    wanted = {"LogFormat": "JSON", "LogGroup": "/custom/group", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN"}
    lam.create_function(FunctionName="json", LoggingConfig=wanted, **common)
    assert lam.get_function(FunctionName="json")["Configuration"]["LoggingConfig"] == wanted
    # WHEN the level is updated THEN the rest stays
    lam.update_function_configuration(FunctionName="json", LoggingConfig={"ApplicationLogLevel": "ERROR"})
    assert lam.get_function_configuration(FunctionName="json")["LoggingConfig"] == {**wanted, "ApplicationLogLevel": "ERROR"}


def _attrs(sqs, url: str) -> dict[str, str]:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _queue_with_dlq(sqs, name: str) -> tuple[str, str, str]:
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = _attrs(sqs, dlq_url)["QueueArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, dlq_url, dlq_arn


def test_set_attributes_without_policy_keeps_policy(sqs):
    # GIVEN a queue with a policy
    url = sqs.create_queue(QueueName="keeps-policy")["QueueUrl"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    # WHEN another attribute is changed
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    # THEN the policy is still there and the change applied
    attrs = _attrs(sqs, url)
    assert json.loads(attrs["Policy"]) == json.loads(policy)
    assert attrs["VisibilityTimeout"] == "60"


def test_set_attributes_with_empty_policy_still_clears_it(sqs):
    url = sqs.create_queue(QueueName="clears-policy")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": []})})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in _attrs(sqs, url)


def test_redrive_policy_is_compact_json(sqs):
    url, _, dlq_arn = _queue_with_dlq(sqs, "compact")
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
    )
    assert _attrs(sqs, url)["RedrivePolicy"] == f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}'


def test_redrive_allow_policy_is_readable(sqs):
    url, dlq_url, _ = _queue_with_dlq(sqs, "allow")
    source_arn = _attrs(sqs, url)["QueueArn"]
    # GIVEN no redrive-allow policy, THEN none is reported (absent, not null)
    assert "RedriveAllowPolicy" not in _attrs(sqs, dlq_url)
    # WHEN one is set, THEN it reads back, by name and with All
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]})
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": allow})
    assert json.loads(_attrs(sqs, dlq_url)["RedriveAllowPolicy"]) == json.loads(allow)
    named = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["RedriveAllowPolicy"])["Attributes"]
    assert json.loads(named["RedriveAllowPolicy"]) == json.loads(allow)
    # WHEN it is cleared with "" (what terraform destroy does) THEN it is gone again
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": ""})
    assert "RedriveAllowPolicy" not in _attrs(sqs, dlq_url)


def test_redrive_to_dlq_still_works(sqs):
    # The backstop the worker runtime relies on: after maxReceiveCount receives SQS moves the message.
    url, dlq_url, dlq_arn = _queue_with_dlq(sqs, "redrive")
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
            "VisibilityTimeout": "0",
        },
    )
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]


def test_stream_records_stay_with_a_disabled_mapping(client):
    iam, lam, ddb, streams = client("iam"), client("lambda"), client("dynamodb"), client("dynamodbstreams")
    role = iam.create_role(
        RoleName="stream-fn-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    lam.create_function(
        FunctionName="relay", Runtime="provided.al2023", Handler="bootstrap", Role=role,
        Code={"ZipFile": _zip_with_bootstrap()},
    )
    table = ddb.create_table(
        TableName="streamed",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    arn = table["LatestStreamArn"]
    lam.create_event_source_mapping(
        FunctionName="relay", EventSourceArn=arn, StartingPosition="TRIM_HORIZON", Enabled=False
    )
    for i in range(3):
        ddb.put_item(TableName="streamed", Item={"PK": {"S": f"k{i}"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in records] == ["k0", "k1", "k2"]
    assert {r["eventName"] for r in records} == {"INSERT"}


def test_input_path_delivers_that_part_of_the_event(client):
    events, sqs = client("events"), client("sqs")
    whole = sqs.create_queue(QueueName="whole-event")["QueueUrl"]
    detail_only = sqs.create_queue(QueueName="detail-only")["QueueUrl"]
    arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="paths")
    events.put_rule(Name="r", EventBusName="paths", EventPattern=json.dumps({"source": ["ecobid.items"]}))
    events.put_targets(
        Rule="r",
        EventBusName="paths",
        Targets=[
            {"Id": "whole", "Arn": arn(whole)},
            {"Id": "detail", "Arn": arn(detail_only), "InputPath": "$.detail"},
        ],
    )
    detail = {"version": "1", "time": "2026-11-21T10:00:00Z", "data": {"n": 1}}
    events.put_events(
        Entries=[{"EventBusName": "paths", "Source": "ecobid.items", "DetailType": "ItemCreated", "Detail": json.dumps(detail)}]
    )
    got = sqs.receive_message(QueueUrl=detail_only, WaitTimeSeconds=1)["Messages"]
    assert json.loads(got[0]["Body"]) == detail
    event = json.loads(sqs.receive_message(QueueUrl=whole, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert event["detail"] == detail and event["detail-type"] == "ItemCreated"


def test_concurrent_conditional_puts_of_one_key_let_exactly_one_through(client, monkeypatch):
    import concurrent.futures
    import time

    from moto.dynamodb.models import table as table_models

    # Widen moto's window between reading the item and writing it (the server runs in this process), so the
    # race shows every time rather than once in many runs.
    evaluate = table_models.get_filter_expression

    def slow_condition(*args, **kwargs):
        time.sleep(0.02)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(table_models, "get_filter_expression", slow_condition)
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="claims",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [client("dynamodb") for _ in range(8)]

    def claim(args):
        c, key = args
        try:
            c.put_item(TableName="claims", Item={"PK": {"S": key}}, ConditionExpression="attribute_not_exists(PK)")
            return 1
        except c.exceptions.ConditionalCheckFailedException:
            return 0

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        winners = [sum(pool.map(claim, [(c, f"k{round_}") for c in clients])) for round_ in range(10)]
    assert winners == [1] * 10


def test_a_cancelled_transaction_writes_nothing_a_stream_reader_can_see(client, monkeypatch):
    import threading
    import time

    from moto.dynamodb import models as dynamodb_models

    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    arn = ddb.create_table(
        TableName="outboxed",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName="outboxed", Item={"PK": {"S": "committed-1"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]

    def read():
        nonlocal iterator
        page = streams.get_records(ShardIterator=iterator)
        iterator = page["NextShardIterator"]
        return [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]]

    # Hold the transaction at its failing condition long enough for the reader to look (the server runs in
    # this process), so what a reader could see in the middle of it shows every time.
    evaluate = dynamodb_models.get_filter_expression

    def slow_condition(*args, **kwargs):
        time.sleep(0.5)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(dynamodb_models, "get_filter_expression", slow_condition)
    cancelled = []

    def transact():
        c = client("dynamodb")
        try:
            c.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "outboxed", "Item": {"PK": {"S": "event-of-a-cancelled-write"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "outboxed",
                            "Key": {"PK": {"S": "absent"}},
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )
        except c.exceptions.TransactionCanceledException as e:
            cancelled.append([r["Code"] for r in e.response["CancellationReasons"]])

    writer = threading.Thread(target=transact)
    writer.start()
    time.sleep(0.2)
    during = read()
    writer.join()
    monkeypatch.setattr(dynamodb_models, "get_filter_expression", evaluate)
    ddb.put_item(TableName="outboxed", Item={"PK": {"S": "committed-2"}})
    after = read()
    assert cancelled == [["None", "ConditionalCheckFailed"]]
    # DynamoDB: the cancelled put never shows, and the reader, carrying on, gets the next real record.
    assert (during, after) == (["committed-1"], ["committed-2"])


def test_a_transaction_copies_no_table_and_a_failed_one_still_leaves_no_trace(client, monkeypatch):
    from moto.dynamodb.models import table as table_models

    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    arn = ddb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    for pk in ("kept", "doomed"):
        ddb.put_item(TableName="ledger", Item={"PK": {"S": pk}, "SK": {"S": "a"}, "n": {"S": "text"}})
    # A copy of a whole table is what made a transaction cost time in the table's size: none is taken.
    copies = []
    monkeypatch.setattr(
        table_models.Table, "__deepcopy__", lambda self, memo: copies.append(self.name) or self, raising=False
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "ledger", "Item": {"PK": {"S": "new"}, "SK": {"S": "a"}}}},
            {
                "Update": {
                    "TableName": "ledger",
                    "Key": {"PK": {"S": "kept"}, "SK": {"S": "a"}},
                    "UpdateExpression": "SET m = :v",
                    "ExpressionAttributeValues": {":v": {"N": "1"}},
                }
            },
        ]
    )
    assert ddb.get_item(TableName="ledger", Key={"PK": {"S": "new"}, "SK": {"S": "a"}}).get("Item")
    assert ddb.get_item(TableName="ledger", Key={"PK": {"S": "kept"}, "SK": {"S": "a"}})["Item"]["m"] == {"N": "1"}
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    before = streams.get_records(ShardIterator=iterator)["Records"]
    # A transaction failing at its last write, past every condition (adding to a string): DynamoDB writes
    # nothing; the put, the delete and the update before it are undone and leave no stream record.
    with pytest.raises(ddb.exceptions.ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "ledger", "Item": {"PK": {"S": "ghost"}, "SK": {"S": "a"}}}},
                {"Delete": {"TableName": "ledger", "Key": {"PK": {"S": "new"}, "SK": {"S": "a"}}}},
                {
                    "Update": {
                        "TableName": "ledger",
                        "Key": {"PK": {"S": "kept"}, "SK": {"S": "a"}},
                        "UpdateExpression": "SET m = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                },
                {
                    "Update": {
                        "TableName": "ledger",
                        "Key": {"PK": {"S": "doomed"}, "SK": {"S": "a"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName="ledger", Key={"PK": {"S": "ghost"}, "SK": {"S": "a"}})
    assert ddb.get_item(TableName="ledger", Key={"PK": {"S": "new"}, "SK": {"S": "a"}}).get("Item")
    assert ddb.get_item(TableName="ledger", Key={"PK": {"S": "kept"}, "SK": {"S": "a"}})["Item"]["m"] == {"N": "1"}
    assert ddb.get_item(TableName="ledger", Key={"PK": {"S": "doomed"}, "SK": {"S": "a"}})["Item"]["n"] == {"S": "text"}
    assert streams.get_records(ShardIterator=iterator)["Records"] == before
    assert len(before) == 4 and copies == []


def test_a_query_reads_its_partition_only_and_answers_as_before(client, monkeypatch):
    import moto_patches
    from moto.dynamodb.models import table as table_models

    ddb = client("dynamodb")
    ddb.create_table(
        TableName="partitioned",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "G", "GS")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI",
                "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}, {"AttributeName": "GS", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for p in range(20):
        for k in range(5):
            item = {"PK": {"S": f"p{p:02}"}, "SK": {"S": f"k{k}"}}
            if k % 2 == 0:
                item |= {"G": {"S": f"g{p % 2}"}, "GS": {"S": f"{k}-{p:02}"}}
            ddb.put_item(TableName="partitioned", Item=item)
    seen = []

    def spy(self):
        items = moto_patches._all_items(self)
        seen.append(len(items))
        return items

    monkeypatch.setattr(table_models.Table, "all_items", spy)

    def query(**kw):
        pages, start = [], None
        while True:
            page = ddb.query(TableName="partitioned", Limit=2, **kw, **({"ExclusiveStartKey": start} if start else {}))
            pages += [(i["PK"]["S"], i["SK"]["S"]) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return pages

    partition = {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p07"}}}
    assert query(**partition) == [("p07", f"k{k}") for k in range(5)]
    assert query(**partition, ScanIndexForward=False) == [("p07", f"k{k}") for k in reversed(range(5))]
    assert query(
        KeyConditionExpression="PK = :p AND SK > :k",
        ExpressionAttributeValues={":p": {"S": "p03"}, ":k": {"S": "k2"}},
    ) == [("p03", "k3"), ("p03", "k4")]
    assert query(KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "nobody"}}) == []
    # Every page of a table query read one partition (5 items), never the table (100).
    assert seen and set(seen) <= {5, 0}, seen
    seen.clear()
    # A GSI query still reads the whole table (moto keeps no index) and answers in the index's order.
    by_index = query(
        IndexName="GSI",
        KeyConditionExpression="G = :g AND begins_with(GS, :k)",
        ExpressionAttributeValues={":g": {"S": "g1"}, ":k": {"S": "2-"}},
    )
    assert by_index == [(f"p{p:02}", "k2") for p in range(1, 20, 2)]
    assert set(seen) == {100}
    # Outside a query (a scan), every item, in moto's order, as before.
    scanned = ddb.scan(TableName="partitioned")["Items"]
    assert len(scanned) == 100


def _image(colour, size=(200, 150), fmt="JPEG") -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def test_moderation_flags_the_test_pattern_and_nothing_else(client):
    s3, rekognition = client("s3"), client("rekognition")
    s3.create_bucket(Bucket="photos", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="photos", Key="flagged.png", Body=_image((255, 0, 255), fmt="PNG"))

    def labels(image) -> list[str]:
        out = rekognition.detect_moderation_labels(Image=image)
        assert out["ModerationModelVersion"]
        return [label["Name"] for label in out["ModerationLabels"]]

    assert labels({"Bytes": _image((30, 120, 60))}) == []
    assert labels({"Bytes": _image((255, 0, 255))}) == ["Violence"]
    assert labels({"S3Object": {"Bucket": "photos", "Name": "flagged.png"}}) == ["Violence"]


def test_rekognition_refuses_what_aws_refuses_with_its_codes(client):
    from botocore.exceptions import ClientError

    s3, rekognition = client("s3"), client("rekognition")
    s3.create_bucket(Bucket="big", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="big", Key="huge.jpg", Body=b"\xff\xd8\xff" + b"\0" * (15 * 1024 * 1024))

    def code(call, image) -> str:
        with pytest.raises(ClientError) as raised:
            call(Image=image)
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return raised.value.response["Error"]["Code"]

    webp = _image((10, 10, 10), fmt="WEBP")
    for call in (rekognition.detect_labels, rekognition.detect_moderation_labels):
        assert code(call, {"Bytes": webp}) == "InvalidImageFormatException"
        assert code(call, {"Bytes": b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)}) == "ImageTooLargeException"
        assert code(call, {"S3Object": {"Bucket": "big", "Name": "huge.jpg"}}) == "ImageTooLargeException"
        assert code(call, {"S3Object": {"Bucket": "big", "Name": "gone.jpg"}}) == "InvalidS3ObjectException"
        assert code(call, {"Bytes": _image((10, 10, 10), size=(64, 48))}) == "InvalidParameterException"
    # What Rekognition takes, it answers.
    assert rekognition.detect_labels(Image={"Bytes": _image((10, 200, 10))})["Labels"]


def test_comprehend_scores_toxicity_per_segment_and_refuses_what_aws_refuses(client):
    from botocore.exceptions import ClientError

    comprehend = client("comprehend")
    out = comprehend.detect_toxic_content(
        TextSegments=[{"Text": "Solid oak table"}, {"Text": "You ECOBID-TOXIC fool"}], LanguageCode="en"
    )["ResultList"]
    assert [r["Toxicity"] >= 0.5 for r in out] == [False, True]
    assert max(out[1]["Labels"], key=lambda label: label["Score"])["Name"] == "INSULT"

    def code(**request) -> str:
        with pytest.raises(ClientError) as raised:
            comprehend.detect_toxic_content(**request)
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return raised.value.response["Error"]["Code"]

    one = [{"Text": "a table"}]
    assert code(TextSegments=one, LanguageCode="fr") == "UnsupportedLanguageException"
    assert code(TextSegments=one * 11, LanguageCode="en") == "InvalidRequestException"
    assert code(TextSegments=[{"Text": "é" * 501}], LanguageCode="en") == "TextSizeLimitExceededException"
    # At the limits, it answers.
    assert len(comprehend.detect_toxic_content(TextSegments=[{"Text": "x" * 1000}] * 10, LanguageCode="en")["ResultList"]) == 10


def test_a_replay_sends_only_its_window_to_only_its_rules_through_their_input_path(client):
    import time

    events, sqs_client = client("events"), client("sqs")
    bus = events.create_event_bus(Name="replayed")["EventBusArn"]
    archive = events.create_archive(ArchiveName="replayed-archive", EventSourceArn=bus)["ArchiveArn"]
    rules = {}
    for kind in ("A", "B"):
        url = sqs_client.create_queue(QueueName=f"replayed-{kind}")["QueueUrl"]
        arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rules[kind] = (
            events.put_rule(Name=f"replayed-{kind}", EventBusName="replayed", EventPattern=json.dumps({"detail-type": [kind]}))["RuleArn"],
            url,
        )
        events.put_targets(Rule=f"replayed-{kind}", EventBusName="replayed", Targets=[{"Id": "q", "Arn": arn, "InputPath": "$.detail"}])
    now = time.time()

    def put(kind: str, n: int, at: float) -> None:
        events.put_events(Entries=[{"EventBusName": "replayed", "Source": "s", "DetailType": kind, "Detail": json.dumps({"n": n}), "Time": at}])

    put("A", 1, now - 3600)  # before the window
    put("A", 2, now - 60)
    put("B", 3, now - 60)

    def drain(url: str) -> list[dict]:
        out = sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for m in out:
            sqs_client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in out]

    for _, url in rules.values():
        drain(url)  # the live deliveries
    events.start_replay(
        ReplayName="last-ten-minutes-of-A",
        EventSourceArn=archive,
        EventStartTime=now - 600,
        EventEndTime=now + 1,
        Destination={"Arn": bus, "FilterArns": [rules["A"][0]]},
    )
    assert events.describe_replay(ReplayName="last-ten-minutes-of-A")["State"] == "COMPLETED"
    # EventBridge: only A's event of the window, to A's rule only, as its detail.
    assert drain(rules["A"][1]) == [{"n": 2}]
    assert drain(rules["B"][1]) == []


def test_a_receive_does_not_recount_the_queue_for_each_message_and_keeps_retention(sqs, monkeypatch):
    from moto.sqs import models as sqs_models

    url = sqs.create_queue(QueueName="deep", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    for start in range(0, 200, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    # The attribute view counts every message of the queue: a receive must not compute it per message.
    counted = []
    original = sqs_models.Queue.attributes.fget

    def spy(self):
        counted.append(self.name)
        return original(self)

    monkeypatch.setattr(sqs_models.Queue, "attributes", property(spy))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert len(got) == 10
    assert counted.count("deep") == 0, counted
    # Retention still applies: a message past the queue's retention period is not handed out.
    monkeypatch.setattr(sqs_models, "unix_time", lambda: original_unix_time() + 3600)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def original_unix_time() -> float:
    import time

    return time.time()


def _distribution(client, **viewer_certificate):
    cloudfront = client("cloudfront")
    oac = cloudfront.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    config = {
        "CallerReference": str(len(viewer_certificate)) + oac,
        "Comment": "t",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "thumbnails",
                    "DomainName": "b.s3.eu-west-1.amazonaws.com",
                    "OriginAccessControlId": oac,
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "thumbnails",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
        "ViewerCertificate": viewer_certificate,
    }
    distribution = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
    return cloudfront.get_distribution(Id=distribution["Id"])["Distribution"], oac


def test_a_distribution_keeps_its_origin_access_control(client):
    distribution, oac = _distribution(client, CloudFrontDefaultCertificate=True)
    origin = distribution["DistributionConfig"]["Origins"]["Items"][0]
    assert origin["OriginAccessControlId"] == oac


def test_the_default_certificate_s_security_policy_is_tlsv1_whatever_was_asked(client):
    default, _ = _distribution(
        client, CloudFrontDefaultCertificate=True, MinimumProtocolVersion="TLSv1.2_2021"
    )
    certificate = default["DistributionConfig"]["ViewerCertificate"]
    assert certificate["MinimumProtocolVersion"] == "TLSv1"
    # The custom certificate's fields are left out, as CloudFront leaves them.
    for field in ("SSLSupportMethod", "ACMCertificateArn", "IAMCertificateId"):
        assert field not in certificate, certificate
    custom, _ = _distribution(
        client,
        CloudFrontDefaultCertificate=False,
        ACMCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/x",
        SSLSupportMethod="sni-only",
        MinimumProtocolVersion="TLSv1.2_2021",
    )
    assert custom["DistributionConfig"]["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert custom["DistributionConfig"]["ViewerCertificate"]["SSLSupportMethod"] == "sni-only"


def test_a_behaviour_with_a_cache_policy_has_no_legacy_forwarded_values(client):
    distribution, _ = _distribution(client, CloudFrontDefaultCertificate=True)
    behaviour = distribution["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert "ForwardedValues" not in behaviour, behaviour


def test_apply_refuses_another_moto_release(monkeypatch):
    import moto

    import moto_patches

    monkeypatch.setattr(moto, "__version__", "0.0.0")
    with pytest.raises(RuntimeError, match="targets moto 5.2.5, found 0.0.0"):
        moto_patches.apply()
