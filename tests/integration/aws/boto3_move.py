#!/usr/bin/env python3
"""SQS message move tasks with boto3 (JSON 1.0; a botocore that has them), for run_move.sh.

Messages are dead-lettered by a RedrivePolicy (maxReceiveCount 1: the second receive moves
them), then StartMessageMoveTask without DestinationArn takes them back to their source
queue: the task ends COMPLETED with ApproximateNumberOfMessagesMoved and ...ToMove equal to
their number, the dead-letter queue is empty and every body comes back with its message
attributes. The refusals SQS gives (not a dead-letter queue, a second active task, an
unknown handle) come as SQS's error codes. A task at 1 message/s to another queue is
cancelled after its first moves: it ends CANCELLED, what it moved is in the destination and
the rest still in the dead-letter queue. Every wait is bounded; prints ok/FAIL lines and
exits 1 on any failure, 77 when this botocore has no move tasks.
"""
import os
import sys
import time

import boto3
from botocore.config import Config
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
if not hasattr(sqs, "start_message_move_task"):
    print("skip: this botocore has no message move tasks")
    sys.exit(77)


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


def dead_letter(prefix, count):
    """Sends count messages to src and receives each twice: the second receive moves it."""
    for i in range(count):
        sqs.send_message(QueueUrl=url("src"), MessageBody=f"{prefix}-{i}",
                         MessageAttributes={"n": {"DataType": "Number",
                                                  "StringValue": str(i)}})
    for _ in range(40):  # bounded: each round receives what is visible
        got = sqs.receive_message(QueueUrl=url("src"), MaxNumberOfMessages=10,
                                  VisibilityTimeout=0).get("Messages", [])
        if not got and visible("dlq")[0] >= count:
            break
        if not got:
            time.sleep(0.1)  # a move lands once the dead-letter queue has it durably
    check(visible("dlq") == (count, 0), f"{count} messages dead-lettered ({visible('dlq')})")


def newest_task(source):
    return sqs.list_message_move_tasks(SourceArn=ARN + source)["Results"][0]


def wait_status(source, statuses):
    for _ in range(300):  # at most 30 s
        task = newest_task(source)
        if task["Status"] in statuses:
            return task
        time.sleep(0.1)
    return task


def back_to_source():
    dead_letter("back", 6)
    handle = sqs.start_message_move_task(SourceArn=ARN + "dlq")["TaskHandle"]
    check(bool(handle), "StartMessageMoveTask answered a TaskHandle")
    task = wait_status("dlq", ("COMPLETED", "FAILED"))
    check(task["Status"] == "COMPLETED", f"the task completed: {task}")
    check(task["ApproximateNumberOfMessagesMoved"] == 6 and
          task["ApproximateNumberOfMessagesToMove"] == 6, "moved 6 of 6")
    check("DestinationArn" not in task and "TaskHandle" not in task,
          "no DestinationArn given, no handle once done")
    check(visible("dlq") == (0, 0), "the dead-letter queue is empty")
    bodies = {}
    for _ in range(10):
        for m in sqs.receive_message(QueueUrl=url("src"), MaxNumberOfMessages=10,
                                     MessageAttributeNames=["All"],
                                     VisibilityTimeout=60).get("Messages", []):
            bodies[m["Body"]] = m.get("MessageAttributes", {}).get("n", {}).get("StringValue")
            sqs.delete_message(QueueUrl=url("src"), ReceiptHandle=m["ReceiptHandle"])
        if len(bodies) == 6:
            break
    check(bodies == {f"back-{i}": str(i) for i in range(6)},
          f"every message is back in src with its attribute: {sorted(bodies)}")


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
    dead_letter("slow", 10)
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
    check(task["Status"] == "CANCELLED" and 1 <= moved < 10,
          f"the cancelled task stopped after {moved} of 10: {task}")
    check(task["DestinationArn"] == ARN + "other" and task["MaxNumberOfMessagesPerSecond"] == 1,
          "the list shows the destination and the rate")
    time.sleep(1.5)  # a cancelled task moves nothing more
    check(visible("other") == (moved, 0) and visible("dlq") == (10 - moved, 0),
          f"other holds the {moved} moved, dlq the rest: {visible('other')} {visible('dlq')}")


back_to_source()
refusals()
cancel_slow()
sys.exit(1 if failures else 0)
