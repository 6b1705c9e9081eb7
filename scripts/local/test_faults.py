"""The fault-injection layer (faults.py), over real HTTP: boto3 sees each injected error as AWS's own, in each
protocol; counts, windows and resource matches bound a fault; the control API refuses bad definitions."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from urllib.error import HTTPError

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

import faults
import moto_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    moto_server.configure()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def no_faults(endpoint):
    control(endpoint, "DELETE")
    yield
    control(endpoint, "DELETE")


def control(endpoint: str, method: str, path: str = "", spec=None) -> tuple[int, dict]:
    data = None if spec is None else json.dumps(spec).encode()
    request = urllib.request.Request(f"{endpoint}{faults.CONTROL_PATH}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as r:
            body = r.read()
            return r.status, json.loads(body) if body else {}
    except HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def client(endpoint: str, service: str):
    # No SDK retries: each call is one request, so the counts below are the server's.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def inject(endpoint: str, **spec) -> dict:
    status, fault = control(endpoint, "POST", spec=spec)
    assert status == 201, fault
    return fault


def code_of(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_json_protocol_error_for_n_requests_then_through(endpoint):
    ddb = client(endpoint, "dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    inject(endpoint, service="dynamodb", operation="PutItem", code="ThrottlingException", status=400, times=2)
    put = lambda: ddb.put_item(TableName="t", Item={"PK": {"S": "a"}})  # noqa: E731
    assert code_of(put) == ("ThrottlingException", 400)
    assert code_of(put) == ("ThrottlingException", 400)
    put()  # the third passes
    assert ddb.get_item(TableName="t", Key={"PK": {"S": "a"}})["Item"]["PK"] == {"S": "a"}
    # Another operation of the service was never affected.
    (fault,) = control(endpoint, "GET")[1]["faults"]
    assert (fault["hits"], fault["active"]) == (2, False)


def test_s3_rest_xml_error_only_for_the_matching_key(endpoint):
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="faults-b", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    inject(endpoint, service="s3", operation="PutObject", code="AccessDenied", status=403, match="faults-b/poisoned/")
    assert code_of(lambda: s3.put_object(Bucket="faults-b", Key="poisoned/1.jpg", Body=b"x")) == ("AccessDenied", 403)
    s3.put_object(Bucket="faults-b", Key="fine/1.jpg", Body=b"x")
    assert s3.get_object(Bucket="faults-b", Key="fine/1.jpg")["Body"].read() == b"x"
    assert code_of(lambda: s3.put_object(Bucket="faults-b", Key="poisoned/2.jpg", Body=b"y")) == ("AccessDenied", 403)
    control(endpoint, "DELETE")
    s3.put_object(Bucket="faults-b", Key="poisoned/2.jpg", Body=b"y")


def test_query_protocol_error_with_a_window(endpoint):
    sns = client(endpoint, "sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    inject(endpoint, service="sns", operation="Publish", code="Throttling", status=400, seconds=1.5, match=topic)
    assert code_of(lambda: sns.publish(TopicArn=topic, Message="m")) == ("Throttling", 400)
    time.sleep(1.6)
    assert "MessageId" in sns.publish(TopicArn=topic, Message="m")


def test_sqs_json_and_rest_json_errors(endpoint):
    sqs = client(endpoint, "sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    inject(endpoint, service="sqs", operation="SendMessage", code="InternalError", status=500, times=1)
    assert code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="m")) == ("InternalError", 500)
    sqs.send_message(QueueUrl=url, MessageBody="m")
    scheduler = client(endpoint, "scheduler")
    inject(endpoint, service="scheduler", operation="CreateSchedule", code="ThrottlingException", status=429, times=1)
    create = lambda: scheduler.create_schedule(  # noqa: E731
        Name="s",
        ScheduleExpression="at(2030-01-01T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:eu-west-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"},
    )
    assert code_of(create) == ("ThrottlingException", 429)
    create()


def test_bad_definitions_are_refused_with_the_field_named(endpoint):
    for spec, says in [
        ({"operation": "PutItem", "code": "X"}, "service is required"),
        ({"service": "s3", "operation": "PutObject", "code": "X", "status": 200}, "status"),
        ({"service": "s3", "operation": "PutObject", "code": "X", "times": 0}, "times"),
        ({"service": "s3", "operation": "PutObject", "code": "X", "seconds": -1}, "seconds"),
        ({"service": "s3", "operation": "PutObject", "code": "X", "colour": "red"}, "colour"),
    ]:
        status, answer = control(endpoint, "POST", spec=spec)
        assert status == 400 and says in answer["error"], (spec, answer)
    assert control(endpoint, "DELETE", "/nope")[0] == 404
    assert control(endpoint, "GET")[1] == {"faults": []}


def test_a_fault_can_be_deleted_by_its_id(endpoint):
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="faults-c", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    fault = inject(endpoint, service="s3", operation="GetObject", code="SlowDown", status=503)
    s3.put_object(Bucket="faults-c", Key="k", Body=b"z")
    assert code_of(lambda: s3.get_object(Bucket="faults-c", Key="k")) == ("SlowDown", 503)
    assert control(endpoint, "DELETE", f"/{fault['id']}")[0] == 204
    assert s3.get_object(Bucket="faults-c", Key="k")["Body"].read() == b"z"
