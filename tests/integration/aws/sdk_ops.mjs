// The AWS SDK for JavaScript v3 (@aws-sdk/client-sqs: SQS over JSON 1.0, query-compatible
// errors) against busbar's AWS API, for run_aws.sh: every SQS operation busbar serves with
// its expected answer (the three batches with a failed entry among successful ones, and a
// FIFO batch), AWS's errors for bad and not implemented calls, and a wrong secret.
// The endpoint and key come from BUSBAR_ENDPOINT, BUSBAR_KEY and BUSBAR_SECRET. Prints
// ok/FAIL lines and exits 1 on any failure; calls are bounded and never retried.
import { createHash } from "node:crypto";
import {
  SQSClient, CreateQueueCommand, GetQueueUrlCommand, ListQueuesCommand,
  GetQueueAttributesCommand, SendMessageCommand, ReceiveMessageCommand,
  ChangeMessageVisibilityCommand, DeleteMessageCommand, DeleteQueueCommand, PurgeQueueCommand,
  SendMessageBatchCommand, DeleteMessageBatchCommand, ChangeMessageVisibilityBatchCommand,
} from "@aws-sdk/client-sqs";

let failures = 0;
function check(condition, what) {
  console.log(`${condition ? "ok" : "FAIL"}: ${what}`);
  if (!condition) failures++;
}

function client(secret = process.env.BUSBAR_SECRET) {
  return new SQSClient({
    endpoint: process.env.BUSBAR_ENDPOINT,
    region: process.env.BUSBAR_REGION ?? "local",
    credentials: { accessKeyId: process.env.BUSBAR_KEY, secretAccessKey: secret },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5000, requestTimeout: 40000 },
  });
}

// The error's AWS code: the SDK names it by the x-amzn-query-error code or the __type.
async function errorOf(sqs, command) {
  try {
    await sqs.send(command);
  } catch (e) {
    return [e.name, e.Code ?? "", e.$metadata?.httpStatusCode].join(" ");
  }
  return "no error";
}

async function expectError(sqs, pattern, what, command) {
  const got = await errorOf(sqs, command);
  check(pattern.test(got), `${what}: ${pattern} (got ${got})`);
}

// JSON 1.0: a FIFO send's SequenceNumber, the received message's system attributes, and
// the approximate counts of GetQueueAttributes (busbard's) before and after.
async function fifoAndCounts(sqs) {
  const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({
    QueueName: "q-js.fifo", Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" } }));
  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl: url, MessageBody: "fifo", MessageGroupId: "g-js" }));
  check(/^[0-9]+$/.test(sent.SequenceNumber ?? ""), `a FIFO send's SequenceNumber (${sent.SequenceNumber})`);
  const counts = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }));
  check(counts.Attributes?.ApproximateNumberOfMessages === "1",
    `ApproximateNumberOfMessages (${JSON.stringify(counts.Attributes)})`);
  const got = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: url, WaitTimeSeconds: 5,
    MessageSystemAttributeNames: ["MessageGroupId", "SequenceNumber", "MessageDeduplicationId"] }));
  const attributes = got.Messages?.[0]?.Attributes ?? {};
  check(attributes.MessageGroupId === "g-js" && attributes.SequenceNumber === sent.SequenceNumber &&
    attributes.MessageDeduplicationId === createHash("sha256").update("fifo").digest("hex"),
    `the received message's MessageGroupId, SequenceNumber and content-based ` +
    `MessageDeduplicationId (${JSON.stringify(attributes)})`);
  const after = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
  check(after.Attributes?.ApproximateNumberOfMessages === "0" &&
    after.Attributes?.ApproximateNumberOfMessagesNotVisible === "1",
    `the counts in All after the receive (${JSON.stringify(after.Attributes)})`);
  await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
}

// JSON 1.0 message attributes: sent (the SDK checks the MD5s it is answered), received whole.
async function messageAttributes(sqs, url) {
  const attributes = {
    s: { DataType: "String", StringValue: "v" },
    b: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 255]) },
  };
  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl: url, MessageBody: "with attributes", MessageAttributes: attributes }));
  check(/^[0-9a-f]{32}$/.test(sent.MD5OfMessageAttributes ?? ""),
    `SendMessage answers MD5OfMessageAttributes (${sent.MD5OfMessageAttributes})`);
  const got = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: url, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }));
  const back = got.Messages?.[0]?.MessageAttributes ?? {};
  check(back.s?.StringValue === "v" && Buffer.from(back.b?.BinaryValue ?? []).equals(
    Buffer.from([0, 1, 255])) && got.Messages[0].MD5OfMessageAttributes === sent.MD5OfMessageAttributes,
    `ReceiveMessage gives the attributes back (${JSON.stringify(back)})`);
  await sqs.send(new DeleteMessageCommand({
    QueueUrl: url, ReceiptHandle: got.Messages?.[0]?.ReceiptHandle ?? "none" }));
}

// "Id:Code:SenderFault" of each failed entry, sorted.
function failedEntries(answer) {
  return (answer.Failed ?? []).map((f) => `${f.Id}:${f.Code}:${f.SenderFault}`).sort().join(" ");
}

// JSON 1.0 batches, each with a failed entry among successful ones (the SDK checks the MD5s of
// the sent ones), a FIFO batch's SequenceNumbers, and a batch refused as a whole.
async function batches(sqs) {
  const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: "q-js-batch" }));
  const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [
    { Id: "a", MessageBody: "first" },
    { Id: "bad", MessageBody: "control \u0001 character" },
    { Id: "b", MessageBody: "second", MessageAttributes: { k: { DataType: "String", StringValue: "v" } } },
  ] }));
  check((sent.Successful ?? []).map((e) => e.Id).sort().join() === "a,b" &&
    failedEntries(sent) === "bad:InvalidMessageContents:true",
    `SendMessageBatch: two sent, one with characters SQS refuses failed (${JSON.stringify(sent)})`);
  const got = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }));
  const handles = (got.Messages ?? []).map((m) => m.ReceiptHandle);
  const changed = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: [
    { Id: "h", ReceiptHandle: handles[0] ?? "x", VisibilityTimeout: 60 },
    { Id: "long", ReceiptHandle: handles[1] ?? "x", VisibilityTimeout: 43201 },
  ] }));
  check((changed.Successful ?? []).map((e) => e.Id).join() === "h" &&
    failedEntries(changed) === "long:InvalidParameterValue:true",
    `ChangeMessageVisibilityBatch: one changed, 43201 s failed alone (${JSON.stringify(changed)})`);
  const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [
    ...handles.map((h, i) => ({ Id: `d${i}`, ReceiptHandle: h })),
    { Id: "bad", ReceiptHandle: "not-a-handle" },
  ] }));
  check(handles.length === 2 && (deleted.Successful ?? []).length === 2 &&
    failedEntries(deleted) === "bad:ReceiptHandleIsInvalid:true",
    `DeleteMessageBatch: both deleted, a made-up handle failed (${JSON.stringify(deleted)})`);
  await expectError(sqs, /BatchEntryIdsNotDistinct/, "two entries with one Id",
    new SendMessageBatchCommand({ QueueUrl: url, Entries: [
      { Id: "x", MessageBody: "1" }, { Id: "x", MessageBody: "2" }] }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));

  const { QueueUrl: fifo } = await sqs.send(new CreateQueueCommand({
    QueueName: "q-js-batch.fifo", Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" } }));
  const ordered = await sqs.send(new SendMessageBatchCommand({ QueueUrl: fifo, Entries: [
    { Id: "one", MessageBody: "1", MessageGroupId: "g" },
    { Id: "two", MessageBody: "2", MessageGroupId: "g" },
  ] }));
  const numbers = Object.fromEntries((ordered.Successful ?? []).map((e) => [e.Id, e.SequenceNumber]));
  check(/^[0-9]+$/.test(numbers.one ?? "") && BigInt(numbers.one) < BigInt(numbers.two ?? "0"),
    `a FIFO batch's SequenceNumbers grow in entry order (${JSON.stringify(ordered)})`);
  await sqs.send(new DeleteQueueCommand({ QueueUrl: fifo }));
}

async function main() {
  const sqs = client();
  const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: "q-js" }));
  check(url.endsWith("/000000000000/q-js"), `CreateQueue answers its URL (${url})`);
  const byName = await sqs.send(new GetQueueUrlCommand({ QueueName: "q-js" }));
  check(byName.QueueUrl === url, "GetQueueUrl");
  const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "q-j" }));
  check(JSON.stringify(listed.QueueUrls) === JSON.stringify([url]), "ListQueues with a prefix");
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  check(attributes.Attributes?.QueueArn === "arn:aws:sqs:local:000000000000:q-js",
    `GetQueueAttributes (${JSON.stringify(attributes.Attributes)})`);

  const body = "hello from the JavaScript SDK \u00e9";
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
  check(sent.MD5OfMessageBody === createHash("md5").update(body).digest("hex"),
    "SendMessage answers the body's MD5 (the SDK checks it too)");
  const got = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5,
    MessageSystemAttributeNames: ["All"] }));
  const message = got.Messages?.[0];
  check(got.Messages?.length === 1 && message.Body === body &&
    message.MessageId === sent.MessageId && message.Attributes?.SentTimestamp !== undefined,
    "ReceiveMessage gives it back with its attributes");
  await sqs.send(new ChangeMessageVisibilityCommand({
    QueueUrl: url, ReceiptHandle: message?.ReceiptHandle ?? "none", VisibilityTimeout: 0 }));
  const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
  check(again.Messages?.length === 1, "ChangeMessageVisibility to 0 makes it visible again");
  await sqs.send(new DeleteMessageCommand({
    QueueUrl: url, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle ?? "none" }));
  const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
  check((after.Messages ?? []).length === 0, "DeleteMessage: the queue is empty after it");

  await expectError(sqs, /QueueDoesNotExist|NonExistentQueue/, "GetQueueUrl of no queue",
    new GetQueueUrlCommand({ QueueName: "nope" }));
  await expectError(sqs, /ReceiptHandleIsInvalid/, "DeleteMessage with a made-up handle",
    new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "not-a-handle" }));
  await expectError(sqs, /InvalidParameterValue/, "ReceiveMessage of 11",
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 }));
  await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  await expectError(sqs, /PurgeQueueInProgress/, "a second PurgeQueue in 60 s",
    new PurgeQueueCommand({ QueueUrl: url }));
  await expectError(client("x".repeat(40)), /SignatureDoesNotMatch|InvalidSignature/,
    "a wrong secret", new ListQueuesCommand({}));

  await fifoAndCounts(sqs);
  await messageAttributes(sqs, url);
  await batches(sqs);

  await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  await expectError(sqs, /QueueDoesNotExist|NonExistentQueue/, "DeleteQueue removed it",
    new GetQueueUrlCommand({ QueueName: "q-js" }));
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  console.log(`FAIL: unexpected ${e.name}: ${e.message}`);
  process.exit(1);
});
