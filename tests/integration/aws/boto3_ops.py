#!/usr/bin/python3
"""Debian's boto3 (SQS query protocol) against busbar's AWS API, for run_aws.sh.

  boto3_ops.py ops       every SQS operation busbar serves, with its expected answer, the
                         errors AWS gives for bad calls, the approximate counts, DelaySeconds,
                         a FIFO queue, message attributes, the three batches (a failed entry
                         among successful ones, the refusals, a FIFO batch), and a presigned
                         (query-form) request
  boto3_ops.py refusals  wrong key, wrong secret, an expired signature, a tampered body, a
                         revoked key and a missing permission, each refused with AWS's error
  boto3_ops.py polls     more long polls at once than the pool gives them connections, and a
                         send and a receive on another queue answered while they all wait

The endpoint and keys come from the environment (BUSBAR_ENDPOINT, BUSBAR_KEY, BUSBAR_SECRET,
BUSBAR_LIMITED_KEY/SECRET, BUSBAR_REVOKED_KEY/SECRET). Prints ok/FAIL lines; exits 1 on any
failure. Every call has a bounded timeout and no retries.
"""
import datetime
import hashlib
import os
import sys
import threading
import time
import types
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.crt

try:
    import botocore.crt.auth
except ImportError:  # without python3-awscrt botocore signs by itself
    botocore.crt.auth = None
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["BUSBAR_ENDPOINT"]
REGION = os.environ.get("BUSBAR_REGION", "local")
failures = 0


def check(condition, what):
    global failures
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        failures += 1


def client(key=None, secret=None):
    return boto3.client(
        "sqs", endpoint_url=ENDPOINT, region_name=REGION,
        aws_access_key_id=key or os.environ["BUSBAR_KEY"],
        aws_secret_access_key=secret or os.environ["BUSBAR_SECRET"],
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=40))


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def expect_error(code, what, call, **kwargs):
    got = error_code(call, **kwargs)
    check(got == code, f"{what}: {code} (got {got})")


def queue_calls(sqs):
    url = sqs.create_queue(QueueName="q-boto", Attributes={"VisibilityTimeout": "40"})["QueueUrl"]
    check(url.endswith("/000000000000/q-boto"), f"CreateQueue answers its URL ({url})")
    check(sqs.get_queue_url(QueueName="q-boto")["QueueUrl"] == url, "GetQueueUrl")
    listed = sqs.list_queues(QueueNamePrefix="q-bo").get("QueueUrls", [])
    check(listed == [url], f"ListQueues with a prefix ({listed})")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    check(attributes.get("VisibilityTimeout") == "40" and
          attributes.get("QueueArn") == "arn:aws:sqs:local:000000000000:q-boto",
          f"GetQueueAttributes ({attributes})")
    return url


def message_calls(sqs, url):
    body = "hello from boto3 \u00e9"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body)
    check(sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest(),
          "SendMessage answers the body's MD5")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                              AttributeNames=["All"]).get("Messages", [])
    check(len(got) == 1 and got[0]["Body"] == body and got[0]["MessageId"] == sent["MessageId"]
          and got[0]["Attributes"].get("ApproximateReceiveCount") == "1",
          f"ReceiveMessage gives it back with its attributes ({got})")
    handle = got[0]["ReceiptHandle"] if got else "none"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5,
                                AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
    check(len(again) == 1 and again[0]["Attributes"]["ApproximateReceiveCount"] == "2",
          "ChangeMessageVisibility to 0 makes it visible again")
    handle = again[0]["ReceiptHandle"] if again else handle
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    after = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    check(after == [], "DeleteMessage: a long poll on the empty queue ends with nothing")
    expect_error("AWS.SimpleQueueService.MessageNotInflight", "a deleted message's visibility",
                 sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle,
                 VisibilityTimeout=5)


def error_calls(sqs, url):
    expect_error("AWS.SimpleQueueService.NonExistentQueue", "GetQueueUrl of no queue",
                 sqs.get_queue_url, QueueName="nope")
    gone = url.replace("q-boto", "nope")
    expect_error("AWS.SimpleQueueService.NonExistentQueue", "SendMessage to no queue",
                 sqs.send_message, QueueUrl=gone, MessageBody="x")
    expect_error("ReceiptHandleIsInvalid", "DeleteMessage with a made-up handle",
                 sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-handle")
    expect_error("InvalidParameterValue", "ReceiveMessage of 11",
                 sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)
    expect_error("InvalidAddress", "a QueueUrl that is no queue's",
                 sqs.send_message, QueueUrl="http://x/y", MessageBody="x")
    sqs.send_message(QueueUrl=url, MessageBody="purged")
    sqs.purge_queue(QueueUrl=url)
    left = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
    check(left == [], "PurgeQueue: nothing sent before it is received after it")
    expect_error("AWS.SimpleQueueService.PurgeQueueInProgress", "a second PurgeQueue in 60 s",
                 sqs.purge_queue, QueueUrl=url)
    sqs.tag_queue(QueueUrl=url, Tags={"team": "a", "env": "b"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    tags = sqs.list_queue_tags(QueueUrl=url).get("Tags")
    check(tags == {"team": "a"}, f"TagQueue, UntagQueue, ListQueueTags (got {tags})")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    check(got["Attributes"] == {"VisibilityTimeout": "45"}, "SetQueueAttributes")
    expect_error("InvalidAction", "AddPermission (not implemented)", sqs.add_permission,
                 QueueUrl=url, Label="l", AWSAccountIds=["000000000000"],
                 Actions=["SendMessage"])


def failed_codes(answer):
    return {f["Id"]: (f["Code"], f["SenderFault"]) for f in answer.get("Failed", [])}


def batches(sqs):
    """The three batch calls, each with a failed entry among successful ones, the refusals
    of a batch as a whole, and a FIFO batch."""
    url = sqs.create_queue(QueueName="q-batch")["QueueUrl"]
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "first"},
        {"Id": "late", "MessageBody": "x", "DelaySeconds": 901},
        {"Id": "b", "MessageBody": "second", "MessageAttributes": attributes}])
    ok = {e["Id"]: e for e in sent.get("Successful", [])}
    check(sorted(ok) == ["a", "b"] and
          ok["a"]["MD5OfMessageBody"] == hashlib.md5(b"first").hexdigest() and
          ok["b"].get("MD5OfMessageAttributes") == attributes_md5(attributes) and
          failed_codes(sent) == {"late": ("InvalidParameterValue", True)},
          f"SendMessageBatch: two sent, DelaySeconds 901 failed alone ({sent})")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
    handles = [m["ReceiptHandle"] for m in got.get("Messages", [])]
    check(len(handles) == 2, f"both batch messages received ({len(handles)})")
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "h", "ReceiptHandle": handles[0] if handles else "x", "VisibilityTimeout": 0},
        {"Id": "bad", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0}])
    check([e["Id"] for e in changed.get("Successful", [])] == ["h"] and
          failed_codes(changed) == {"bad": ("ReceiptHandleIsInvalid", True)},
          f"ChangeMessageVisibilityBatch: one changed, a made-up handle failed ({changed})")
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
    handles = [m["ReceiptHandle"] for m in again.get("Messages", [])] + handles[1:]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": h} for i, h in enumerate(handles)] + [
        {"Id": "bad", "ReceiptHandle": "not-a-handle"}])
    check(len(deleted.get("Successful", [])) == 2 and
          failed_codes(deleted) == {"bad": ("ReceiptHandleIsInvalid", True)},
          f"DeleteMessageBatch: both deleted, a made-up handle failed ({deleted})")
    expect_error("AWS.SimpleQueueService.EmptyBatchRequest", "a batch without entries",
                 sqs.send_message_batch, QueueUrl=url, Entries=[])
    expect_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "a batch of 11",
                 sqs.send_message_batch, QueueUrl=url,
                 Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    expect_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "two entries with one Id",
                 sqs.delete_message_batch, QueueUrl=url,
                 Entries=[{"Id": "x", "ReceiptHandle": "h"}, {"Id": "x", "ReceiptHandle": "h"}])
    expect_error("AWS.SimpleQueueService.InvalidBatchEntryId", "an Id with a space",
                 sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": "a b", "MessageBody": "x"}])
    sqs.delete_queue(QueueUrl=url)
    fifo_batch(sqs)


def fifo_batch(sqs):
    """A FIFO SendMessageBatch: SequenceNumbers in entry order, a duplicate entry answered
    with the first's ids, an entry without MessageGroupId failed alone."""
    url = sqs.create_queue(QueueName="q-batch.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "one", "MessageBody": "1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "two", "MessageBody": "2", "MessageGroupId": "g", "MessageDeduplicationId": "d2"},
        {"Id": "dup", "MessageBody": "1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "nogroup", "MessageBody": "3", "MessageDeduplicationId": "d3"}])
    ok = {e["Id"]: e for e in sent.get("Successful", [])}
    numbers = [int(ok[i].get("SequenceNumber", "0")) for i in ("one", "two") if i in ok]
    check(len(numbers) == 2 and numbers[0] < numbers[1] and
          ok.get("dup", {}).get("MessageId") == ok["one"]["MessageId"] and
          ok["dup"].get("SequenceNumber") == ok["one"]["SequenceNumber"] and
          failed_codes(sent) == {"nogroup": ("MissingParameter", True)},
          f"a FIFO batch: numbers in order, the duplicate answered as the first ({sent})")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                              AttributeNames=["All"]).get("Messages", [])
    check([m["Body"] for m in got][:1] == ["1"] and
          got[0]["Attributes"].get("SequenceNumber") == ok["one"]["SequenceNumber"] and
          got[0]["Attributes"].get("MessageDeduplicationId") == "d1",
          f"the group's first message received first, with its ids ({got})")
    sqs.delete_queue(QueueUrl=url)


def counts(sqs):
    """GetQueueAttributes' approximate counts are busbard's: one message visible, one in
    flight, one delayed; by name and in All."""
    url = sqs.create_queue(QueueName="q-counts")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="taken")
    taken = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, VisibilityTimeout=300)
    check(len(taken.get("Messages", [])) == 1, "a message received and kept in flight")
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    check(got == dict(zip(names, ["1", "1", "1"])), f"the counts by name ({got})")
    every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    check(all(every.get(n) == "1" for n in names) and "QueueArn" in every,
          f"the counts in All, beside the store's attributes ({every})")
    shown = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    check([m["Body"] for m in shown] == ["waiting"],
          f"a DelaySeconds message is not received before its time ({shown})")
    expect_error("InvalidParameterValue", "DelaySeconds 901", sqs.send_message, QueueUrl=url,
                 MessageBody="x", DelaySeconds=901)
    sqs.delete_queue(QueueUrl=url)


def fifo(sqs):
    """A FIFO queue over HTTP: group and deduplication ids, SequenceNumber, the system
    attributes of a received message, and busbard's refusals."""
    url = sqs.create_queue(QueueName="q-boto.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g1",
                            MessageDeduplicationId="d1")
    check(sent.get("SequenceNumber", "").isdigit(), f"a FIFO send's SequenceNumber ({sent})")
    again = sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g1",
                             MessageDeduplicationId="d1")
    check(again["MessageId"] == sent["MessageId"] and
          again.get("SequenceNumber") == sent.get("SequenceNumber"),
          "a duplicate within the window answers the first send's ids")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=10,
                              AttributeNames=["All"]).get("Messages", [])
    attributes = got[0].get("Attributes", {}) if got else {}
    check(len(got) == 1 and attributes.get("MessageGroupId") == "g1" and
          attributes.get("SequenceNumber") == sent.get("SequenceNumber") and
          attributes.get("MessageDeduplicationId") == "d1",
          f"received once, with its MessageGroupId, SequenceNumber and "
          f"MessageDeduplicationId ({got})")
    expect_error("MissingParameter", "a FIFO send without MessageGroupId", sqs.send_message,
                 QueueUrl=url, MessageBody="x", MessageDeduplicationId="d2")
    sqs.delete_queue(QueueUrl=url)


def attributes_md5(attributes):
    """MD5OfMessageAttributes as AWS computes it (names in order, each part length-prefixed)."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        binary = "BinaryValue" in value
        data = value["BinaryValue"] if binary else value["StringValue"].encode()
        for part in (name.encode(), value["DataType"].encode()):
            digest.update(len(part).to_bytes(4, "big") + part)
        digest.update((b"\x02" if binary else b"\x01") + len(data).to_bytes(4, "big") + data)
    return digest.hexdigest()


def message_attributes(sqs):
    """MessageAttributes and AWSTraceHeader sent, their MD5, and given back as selected."""
    url = sqs.create_queue(QueueName="q-attrs")["QueueUrl"]
    sent_attributes = {"s": {"DataType": "String", "StringValue": "v\u00e9"},
                       "p.n": {"DataType": "Number", "StringValue": "1.5"},
                       "p.b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="with attributes",
                            MessageAttributes=sent_attributes, MessageSystemAttributes={
                                "AWSTraceHeader": {"DataType": "String",
                                                   "StringValue": "Root=1-5759e988-bd862e3fe"}})
    check(sent.get("MD5OfMessageAttributes") == attributes_md5(sent_attributes),
          f"SendMessage answers AWS's MD5OfMessageAttributes ({sent})")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, VisibilityTimeout=0,
                              MessageAttributeNames=["All"],
                              AttributeNames=["AWSTraceHeader"]).get("Messages", [])
    m = got[0] if got else {}
    check(m.get("MessageAttributes") == sent_attributes and
          m.get("MD5OfMessageAttributes") == sent.get("MD5OfMessageAttributes") and
          m.get("Attributes", {}).get("AWSTraceHeader") == "Root=1-5759e988-bd862e3fe",
          f"ReceiveMessage gives every attribute back with All, and the trace header ({m})")
    some = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5,
                               MessageAttributeNames=["p.*"]).get("Messages", [])
    selected = sorted(some[0].get("MessageAttributes", {})) if some else None
    check(selected == ["p.b", "p.n"], f"MessageAttributeNames p.* selects p.b and p.n ({selected})")
    expect_error("InvalidParameterValue", "a message attribute named AWS.x", sqs.send_message,
                 QueueUrl=url, MessageBody="x",
                 MessageAttributes={"AWS.x": {"DataType": "String", "StringValue": "v"}})
    sqs.delete_queue(QueueUrl=url)


def presigned(sqs):
    link = sqs.generate_presigned_url("list_queues", Params={"QueueNamePrefix": "q-boto"},
                                      ExpiresIn=60)
    # Signed for the operation's method, POST, with every parameter in the URL and no body.
    request = urllib.request.Request(link, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    check("X-Amz-Signature=" in link and "<ListQueuesResult><QueueUrl>" in text,
          "a presigned request (the query form of SigV4)")
    try:
        urllib.request.urlopen(urllib.request.Request(link, data=b"Action=DeleteQueue",
                                                      method="POST"), timeout=10)
        check(False, "a presigned URL with a body it does not sign is refused")
    except urllib.error.HTTPError as e:
        check(e.code == 403, f"a presigned URL with a body it does not sign is refused ({e.code})")


def ops():
    sqs = client()
    url = queue_calls(sqs)
    message_calls(sqs, url)
    error_calls(sqs, url)
    counts(sqs)
    fifo(sqs)
    message_attributes(sqs)
    batches(sqs)
    presigned(sqs)
    sqs.delete_queue(QueueUrl=url)
    expect_error("AWS.SimpleQueueService.NonExistentQueue", "DeleteQueue removed it",
                 sqs.get_queue_url, QueueName="q-boto")


class _Past(datetime.datetime):
    """botocore's clock, 20 minutes slow: outside the 5-minute window."""

    @classmethod
    def utcnow(cls):
        return datetime.datetime.utcnow() - datetime.timedelta(minutes=20)


def refusals():
    expect_error("InvalidClientTokenId", "an unknown access key",
                 client("BBAAAAAAAAAAAAAAAAAA").list_queues)
    expect_error("SignatureDoesNotMatch", "a wrong secret",
                 client(secret="x" * 40).list_queues)
    expect_error("InvalidClientTokenId", "a revoked key",
                 client(os.environ["BUSBAR_REVOKED_KEY"], os.environ["BUSBAR_REVOKED_SECRET"])
                 .list_queues)
    limited = client(os.environ["BUSBAR_LIMITED_KEY"], os.environ["BUSBAR_LIMITED_SECRET"])
    url = limited.get_queue_url(QueueName="q-auth")["QueueUrl"]
    check(url.endswith("/q-auth"), "a limited key does what its policy allows")
    expect_error("AccessDenied", "a limited key's SendMessage", limited.send_message,
                 QueueUrl=url, MessageBody="x")

    tampering = client()

    def tamper(request, **kwargs):
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        request.body = body.replace(b"MessageBody=signed", b"MessageBody=forged")

    tampering.meta.events.register("before-send.sqs.SendMessage", tamper)
    expect_error("SignatureDoesNotMatch", "a body changed after signing",
                 tampering.send_message, QueueUrl=url, MessageBody="signed")

    # Both signers botocore may use: its own and, with python3-awscrt, the CRT's.
    modules = [botocore.auth] + ([botocore.crt.auth] if botocore.crt.auth else [])
    slow = types.SimpleNamespace(datetime=_Past, timedelta=datetime.timedelta,
                                 timezone=datetime.timezone)
    for module in modules:
        module.datetime = slow
    try:
        expect_error("RequestExpired", "a signature 20 minutes old", client().list_queues)
    finally:
        for module in modules:
            module.datetime = datetime


POLLS = 40        # more than the pool's 24 long-poll connections
POLL_WAIT_S = 10  # long enough that a send, taking milliseconds, ends well inside it


def polls():
    """A send and a receive beside more long polls than the pool gives connections: they are
    answered before any poll that busbard parked (one that lasted its wait) has ended. A
    poll busbard does not park (it parks 4 per worker with tiny limits) ends at once and
    proves nothing; the count of parked ones is printed."""
    sqs = client()
    idle = sqs.create_queue(QueueName="q-idle")["QueueUrl"]
    busy = sqs.create_queue(QueueName="q-busy")["QueueUrl"]
    ended = []  # (monotonic end, seconds taken)
    errors = []

    def poll():
        began = time.monotonic()
        try:
            got = client().receive_message(QueueUrl=idle, WaitTimeSeconds=POLL_WAIT_S)
            if got.get("Messages"):
                errors.append("a message on the idle queue")
        except Exception as e:  # every failure is reported, none is lost in the thread
            errors.append(repr(e))
        ended.append((time.monotonic(), time.monotonic() - began))

    threads = [threading.Thread(target=poll) for _ in range(POLLS)]
    for t in threads:
        t.start()
    sent = sqs.send_message(QueueUrl=busy, MessageBody="past the polls")
    got = sqs.receive_message(QueueUrl=busy, WaitTimeSeconds=0).get("Messages", [])
    answered = time.monotonic()
    check(len(got) == 1 and got[0]["MessageId"] == sent["MessageId"],
          "the message sent beside the polls is received")
    for t in threads:
        t.join(timeout=3 * POLL_WAIT_S + 60)
    parked = [at for at, took in ended if took >= POLL_WAIT_S / 2]
    check(len(ended) == POLLS and not errors, f"every long poll ended empty ({errors[:2]})")
    check(all(at > answered for at in parked),
          f"a send and a receive answered before any of {len(parked)} parked long polls ended")


if __name__ == "__main__":
    {"ops": ops, "refusals": refusals, "polls": polls}[sys.argv[1]]()
    sys.exit(1 if failures else 0)
