"""The delivery record and patches 16-19 (deliveries.py), over real HTTP with boto3: what SES and SNS accepted
is recorded per send and per endpoint; what SES and SNS refuse is refused."""

from __future__ import annotations

import json
import socket
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

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


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def deliveries(endpoint: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/_ecobid/deliveries") as r:
        return json.loads(r.read())


def test_an_accepted_email_is_recorded_whole_and_an_unknown_configuration_set_is_refused(endpoint):
    ses = client(endpoint, "sesv2")
    ses.create_email_identity(EmailIdentity="no-reply@ecobid.local")
    ses.create_configuration_set(
        ConfigurationSetName="notices", SuppressionOptions={"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    )
    # Readable as SES answers it (patch 18): sending enabled, the suppression kept.
    answered = ses.get_configuration_set(ConfigurationSetName="notices")
    assert answered["SendingOptions"] == {"SendingEnabled": True}
    assert answered["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    message = {
        "Simple": {
            "Subject": {"Data": "You won"},
            "Body": {"Text": {"Data": "You won the auction."}, "Html": {"Data": "<p>You won</p>"}},
        }
    }
    sent = ses.send_email(
        FromEmailAddress="EcoBid <no-reply@ecobid.local>",
        Destination={"ToAddresses": ["ann@example.com"]},
        Content=message,
        ConfigurationSetName="notices",
    )
    emails = [e for e in deliveries(endpoint)["emails"] if e["messageId"] == sent["MessageId"]]
    assert len(emails) == 1
    e = emails[0]
    assert (e["to"], e["subject"], e["text"], e["html"], e["configurationSet"]) == (
        ["ann@example.com"],
        "You won",
        "You won the auction.",
        "<p>You won</p>",
        "notices",
    )
    with pytest.raises(ClientError) as refused:
        ses.send_email(
            FromEmailAddress="no-reply@ecobid.local",
            Destination={"ToAddresses": ["ann@example.com"]},
            Content=message,
            ConfigurationSetName="no-such-set",
        )
    assert refused.value.response["Error"]["Code"] == "NotFoundException"
    # An unverified sender is refused (moto's own check, kept).
    with pytest.raises(ClientError) as unverified:
        ses.send_email(
            FromEmailAddress="someone@elsewhere.example",
            Destination={"ToAddresses": ["ann@example.com"]},
            Content=message,
        )
    assert unverified.value.response["Error"]["Code"] == "MessageRejected"


def test_pushes_are_recorded_per_endpoint_as_their_platform_gets_them_and_a_bad_structure_is_refused(endpoint):
    sns = client(endpoint, "sns")
    app = sns.create_platform_application(
        Name="ios", Platform="APNS_SANDBOX", Attributes={"PlatformCredential": "k", "PlatformPrincipal": "p"}
    )["PlatformApplicationArn"]
    arn = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="tok-1", CustomUserData="ann")["EndpointArn"]
    apns = json.dumps({"aps": {"alert": {"title": "You won", "body": "Well done"}}})
    sns.publish(
        TargetArn=arn,
        MessageStructure="json",
        Message=json.dumps({"default": "Well done", "APNS_SANDBOX": apns}),
    )
    (mine,) = [e for e in deliveries(endpoint)["endpoints"] if e["arn"] == arn]
    assert (mine["userData"], mine["token"], mine["enabled"], mine["platform"]) == ("ann", "tok-1", True, "APNS_SANDBOX")
    assert mine["messages"] == [{"aps": {"alert": {"title": "You won", "body": "Well done"}}}]
    for bad in ["not json", json.dumps({"APNS": apns}), json.dumps({"default": {"nested": 1}})]:
        with pytest.raises(ClientError) as refused:
            sns.publish(TargetArn=arn, MessageStructure="json", Message=bad)
        assert refused.value.response["Error"]["Code"] == "InvalidParameter", bad


def test_a_disabled_endpoint_refuses_pushes_until_enabled_and_the_record_can_be_cleared(endpoint):
    sns = client(endpoint, "sns")
    app = sns.create_platform_application(
        Name="android", Platform="GCM", Attributes={"PlatformCredential": "{}"}
    )["PlatformApplicationArn"]
    arn = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="tok-2")["EndpointArn"]
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    with pytest.raises(ClientError) as disabled:
        sns.publish(TargetArn=arn, Message="hello")
    assert disabled.value.response["Error"]["Code"] == "EndpointDisabled"
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "true"})
    sns.publish(TargetArn=arn, Message="hello again")
    (mine,) = [e for e in deliveries(endpoint)["endpoints"] if e["arn"] == arn]
    assert mine["messages"] == ["hello again"]
    req = urllib.request.Request(f"{endpoint}/_ecobid/deliveries", method="DELETE")
    with urllib.request.urlopen(req) as r:
        assert r.status == 204
    (cleared,) = [e for e in deliveries(endpoint)["endpoints"] if e["arn"] == arn]
    assert cleared["messages"] == [] and deliveries(endpoint)["emails"] == []


def test_configuration_sets_and_identities_read_back_as_terraform_wrote_them(endpoint):
    ses = client(endpoint, "sesv2")
    # Unset option blocks are left out, as SES answers (patch 18), so a plan after apply is empty.
    ses.create_configuration_set(
        ConfigurationSetName="plain", DeliveryOptions={"TlsPolicy": "REQUIRE"}
    )
    answered = ses.get_configuration_set(ConfigurationSetName="plain")
    assert answered["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    assert "TrackingOptions" not in answered and "VdmOptions" not in answered
    # An identity's tags are found under its ARN, identity/<name> (patch 19).
    tags = [{"Key": "Project", "Value": "ecobid"}]
    ses.create_email_identity(EmailIdentity="tagged@ecobid.local", Tags=tags)
    arn = "arn:aws:ses:eu-west-1:123456789012:identity/tagged@ecobid.local"
    assert ses.list_tags_for_resource(ResourceArn=arn)["Tags"] == tags
    assert ses.get_email_identity(EmailIdentity="tagged@ecobid.local")["Tags"] == tags
    # The identity is the account's: creating it again is refused, as SES refuses it (patch 19).
    with pytest.raises(ClientError) as again:
        ses.create_email_identity(EmailIdentity="tagged@ecobid.local", Tags=[{"Key": "Environment", "Value": "b"}])
    assert again.value.response["Error"]["Code"] == "AlreadyExistsException"
    assert ses.list_tags_for_resource(ResourceArn=arn)["Tags"] == tags
