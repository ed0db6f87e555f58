#!/usr/bin/env python3
"""SQS message move tasks with boto3 (JSON 1.0), for run_move.sh.

Messages are dead-lettered by a RedrivePolicy (maxReceiveCount 1: the second receive moves
them), then StartMessageMoveTask without DestinationArn takes them back to their source
queue: the task ends COMPLETED with ApproximateNumberOfMessagesMoved and ...ToMove equal to
their number, the dead-letter queue is empty and every body comes back with its message
attributes. The refusals SQS gives (not a dead-letter queue, a second active task, an
unknown handle) come as SQS's error codes. A task at 1 message/s to another queue is
cancelled after its first move: it ends CANCELLED, what it moved is in the destination and
the rest still in the dead-letter queue. Every wait is bounded; prints ok/FAIL lines and
exits 1 on any failure. With a botocore that has no move tasks (Debian's 1.29) those three
calls are made by hand (json10), signed by botocore.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["BUSBAR_ENDPOINT"]
ARN = "arn:aws:sqs:local:000000000000:"
failures = 0


def check(condition, what):
    global failures
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        failures += 1


sqs = boto3.client("sqs", endpoint_url=ENDPOINT, region_name="local",
                   aws_access_key_id="unused", aws_secret_access_key="unused",
                   config=Config(retries={"max_attempts": 1}, connect_timeout=5,
                                 read_timeout=30))


def json10(operation, **params):
    """One SQS JSON 1.0 call, SigV4-signed by botocore: for a botocore that predates it."""
    body = json.dumps(params).encode()
    request = AWSRequest(method="POST", url=ENDPOINT + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + operation})
    SigV4Auth(Credentials("unused", "unused"), "sqs", "local").add_auth(request)
    http = urllib.request.Request(ENDPOINT + "/", data=body, method="POST",
                                  headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(http, timeout=30) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        error = json.loads(e.read() or b"{}")
        # botocore's rule: the query-compatible code when the header has one.
        query = e.headers.get("x-amzn-query-error", "")
        code = query.split(";")[0] if query else error.get("__type", "").split("#")[-1]
        raise ClientError({"Error": {"Code": code, "Message": error.get("message", "")}},
                          operation) from None


# Debian's botocore (1.29) predates message move tasks: the same calls, made by hand.
if not hasattr(sqs, "start_message_move_task"):
    sqs.start_message_move_task = lambda **p: json10("StartMessageMoveTask", **p)
    sqs.list_message_move_tasks = lambda **p: json10("ListMessageMoveTasks", **p)
    sqs.cancel_message_move_task = lambda **p: json10("CancelMessageMoveTask", **p)


def url(name):
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def visible(name):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url(name), AttributeNames=["ApproximateNumberOfMessages",
                                            "ApproximateNumberOfMessagesNotVisible"])
    a = attributes["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def dead_letter(prefix, count, queue="src", already=0):
    """Sends count messages to queue and receives each twice: the second receive moves them
    to dlq, which holds already messages before."""
    for i in range(count):
        sqs.send_message(QueueUrl=url(queue), MessageBody=f"{prefix}-{i}",
                         MessageAttributes={"n": {"DataType": "Number",
                                                  "StringValue": str(i)}})
    for _ in range(40):  # bounded: each round receives what is visible
        got = sqs.receive_message(QueueUrl=url(queue), MaxNumberOfMessages=10,
                                  VisibilityTimeout=0).get("Messages", [])
        if not got and visible("dlq")[0] >= already + count:
            break
        if not got:
            time.sleep(0.1)  # a move lands once the dead-letter queue has it durably
    check(visible("dlq") == (already + count, 0),
          f"{count} messages of {queue} dead-lettered ({visible('dlq')})")


def newest_task(source):
    return sqs.list_message_move_tasks(SourceArn=ARN + source)["Results"][0]


def wait_status(source, statuses):
    for _ in range(300):  # at most 30 s
        task = newest_task(source)
        if task["Status"] in statuses:
            return task
        time.sleep(0.1)
    return task


def drain(queue, count):
    """Receives and deletes up to count messages of queue: {body: attribute n}."""
    bodies = {}
    for _ in range(10):
        for m in sqs.receive_message(QueueUrl=url(queue), MaxNumberOfMessages=10,
                                     MessageAttributeNames=["All"],
                                     VisibilityTimeout=60).get("Messages", []):
            bodies[m["Body"]] = m.get("MessageAttributes", {}).get("n", {}).get("StringValue")
            sqs.delete_message(QueueUrl=url(queue), ReceiptHandle=m["ReceiptHandle"])
        if len(bodies) == count:
            break
    return bodies


def back_to_source():
    """dlq has two source queues: without DestinationArn each message goes back to its own
    (its DeadLetterQueueSourceArn), as SQS does."""
    dead_letter("back", 4)
    dead_letter("two", 2, queue="src2", already=4)
    handle = sqs.start_message_move_task(SourceArn=ARN + "dlq")["TaskHandle"]
    check(bool(handle), "StartMessageMoveTask answered a TaskHandle")
    task = wait_status("dlq", ("COMPLETED", "FAILED"))
    check(task["Status"] == "COMPLETED", f"the task completed: {task}")
    check(task["ApproximateNumberOfMessagesMoved"] == 6 and
          task["ApproximateNumberOfMessagesToMove"] == 6, "moved 6 of 6")
    check("DestinationArn" not in task and "TaskHandle" not in task,
          "no DestinationArn given, no handle once done")
    check(visible("dlq") == (0, 0), "the dead-letter queue is empty")
    bodies = drain("src", 4)
    check(bodies == {f"back-{i}": str(i) for i in range(4)},
          f"every message of src is back in src with its attribute: {sorted(bodies)}")
    bodies = drain("src2", 2)
    check(bodies == {f"two-{i}": str(i) for i in range(2)},
          f"every message of src2 is back in src2: {sorted(bodies)}")


def refusals():
    check(error_code(sqs.start_message_move_task, SourceArn=ARN + "other") ==
          "InvalidParameterValue", "a queue that is no dead-letter queue is refused")
    check(error_code(sqs.start_message_move_task, SourceArn=ARN + "nope") ==
          "ResourceNotFoundException", "an unknown queue is ResourceNotFoundException")
    check(error_code(sqs.list_message_move_tasks, SourceArn=ARN + "dlq", MaxResults=11) ==
          "InvalidParameterValue", "MaxResults 11 is refused")
    check(error_code(sqs.cancel_message_move_task,
                     TaskHandle="eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoieSJ9") ==
          "ResourceNotFoundException", "an unknown TaskHandle is ResourceNotFoundException")


def cancel_slow():
    count = 30  # at 1/s: 29 s for the cancel to land after the first move
    dead_letter("slow", count)
    handle = sqs.start_message_move_task(SourceArn=ARN + "dlq", DestinationArn=ARN + "other",
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    check(error_code(sqs.start_message_move_task, SourceArn=ARN + "dlq") ==
          "InvalidParameterValue", "a second task on the same queue is refused")
    for _ in range(100):  # at most 10 s: until the first message moved
        if newest_task("dlq")["ApproximateNumberOfMessagesMoved"] >= 1:
            break
        time.sleep(0.1)
    sqs.cancel_message_move_task(TaskHandle=handle)
    task = wait_status("dlq", ("CANCELLED",))
    moved = task["ApproximateNumberOfMessagesMoved"]
    check(task["Status"] == "CANCELLED" and 1 <= moved < count,
          f"the cancelled task stopped after {moved} of {count}: {task}")
    check(task["DestinationArn"] == ARN + "other" and task["MaxNumberOfMessagesPerSecond"] == 1,
          "the list shows the destination and the rate")
    time.sleep(1.5)  # a cancelled task moves nothing more
    check(visible("other") == (moved, 0) and visible("dlq") == (count - moved, 0),
          f"other holds the {moved} moved, dlq the rest: {visible('other')} {visible('dlq')}")


back_to_source()
refusals()
cancel_slow()
sys.exit(1 if failures else 0)
