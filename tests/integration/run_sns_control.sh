#!/usr/bin/env bash
# SNS management (issues 14 and 15) on the real stack in a network namespace of its own:
# busbard on a tap port and busbar-control with signatures checked. The busbar command
# (busbar's JSON shape of SNS) and Debian's awscli (`aws sns`, SNS's query protocol and XML)
# run every management call with its expected answers and errors, signed with keys this
# test creates; busbard applies each snapshot carrying the topics and subscriptions (its
# version reaches busbard); a key allowed only one topic's calls is refused on another.
# Every client talks to 127.0.0.1 inside the namespace only, each call is bounded, every
# process is stopped by PID. Exits 77 without awscli (scripts/setup.sh installs it).
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
[ -x /usr/bin/aws ] || { echo "skip: run scripts/setup.sh for: awscli"; exit 77; }

source "$here/lib.sh"

CONTROL_AUTH_ARGS="" # authentication on, as by default
endpoint=http://127.0.0.1:7680
db="$work/control.db"
bound_s=60 # a hang detector for one call, not a speed test
topic=arn:aws:sns:local:000000000000

ns_setup
start_busbard
start_control "$db" --run-seconds 600 # the AWS CLI takes seconds a call on a loaded machine

keys() { "$build/control/busbar-control" keys --db "$db" "$@"; }
new_key() {
	keys create --policy "$1" | python3 -c 'import json,sys
k = json.load(sys.stdin)["Key"]; print(k["AccessKeyId"], k["SecretAccessKey"])'
}
admin_policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
one_topic_policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"sns:GetTopicAttributes","Resource":"arn:aws:sns:*:*:mine"}]}'
read -r admin_key admin_secret <<<"$(new_key "$admin_policy")"
read -r limited_key limited_secret <<<"$(new_key "$one_topic_policy")"
[ -n "$admin_key" ] && [ -n "$limited_key" ] || fail "cannot create keys"

client_env=(env -i PATH=/usr/bin:/bin HOME="$work" AWS_EC2_METADATA_DISABLED=true
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1
	AWS_DEFAULT_REGION=local AWS_ACCESS_KEY_ID="$admin_key" AWS_SECRET_ACCESS_KEY="$admin_secret"
	BUSBAR_ACCESS_KEY_ID="$admin_key" BUSBAR_SECRET_ACCESS_KEY="$admin_secret")
run_client() { timeout "$bound_s" ip netns exec "$ns" "${client_env[@]}" "$@"; }
sns() { run_client /usr/bin/aws --endpoint-url "$endpoint" --output json sns "$@"; }
bb() { run_client "$build/client/busbar" --endpoint "$endpoint" --timeout-ms 2000 "$@"; }
applied() {
	in_ns "$build/client/busbar" --local "$socket" --timeout-ms 2000 --retries 0 stats |
		json_field '["snapshot_version"]'
}

# An unsigned SNS call is refused, in SNS's namespace.
expect 0 'MissingAuthenticationToken' -- in_ns curl -s -m 10 \
	-d 'Action=ListTopics&Version=2010-03-31' "$endpoint/"
expect 0 'sns.amazonaws.com/doc/2010-03-31' -- in_ns curl -s -m 10 \
	-d 'Action=ListTopics&Version=2010-03-31' "$endpoint/"

# The busbar command: topics, subscriptions, attributes, tags.
expect 0 '"QueueUrl"' -- bb create-queue inbox
expect 0 '"QueueUrl"' -- bb create-queue dead
expect 0 '"QueueUrl"' -- bb --fifo create-queue inbox.fifo
expect 0 "\"TopicArn\": \"$topic:news\"" -- bb create-topic news DisplayName=News
expect 0 "\"TopicArn\": \"$topic:news\"" -- bb create-topic news DisplayName=News
expect 1 'InvalidParameter: Invalid parameter: Attributes Reason: Topic already exists' -- \
	bb create-topic news DisplayName=Other
expect 0 "\"TopicArn\": \"$topic:events.fifo\"" -- \
	bb create-topic events.fifo --fifo --content-based-deduplication --durability memory
expect 0 "$topic:news:" -- bb subscribe news sqs inbox RawMessageDelivery=true \
	'FilterPolicy={"kind":["order"]}' \
	"RedrivePolicy={\"deadLetterTargetArn\":\"arn:aws:sqs:local:000000000000:dead\"}"
sub_arn=$(json_field '["SubscriptionArn"]' <<<"$last_output")
expect 0 "$topic:news:" -- bb subscribe news udp 10.77.0.1:7700
expect 0 "$topic:events.fifo:" -- bb subscribe events.fifo sqs inbox.fifo
expect 1 'InvalidParameter: Invalid parameter: FilterPolicy: ' -- \
	bb subscribe news udp 10.77.0.1:7701 'FilterPolicy={"kind":[{"wildcard":"o*"}]}'
expect 1 'InvalidParameter: Invalid parameter: Endpoint Reason: the queue does not exist' -- \
	bb subscribe news sqs missing
expect 1 'FIFO SQS Queues can not be subscribed to standard SNS topics' -- \
	bb subscribe news sqs inbox.fifo
expect 0 '"SubscriptionsConfirmed": "2"' -- bb get-topic-attributes news
expect 0 '"FilterPolicy": "{\\"kind\\":\[\\"order\\"\]}"' -- \
	bb get-subscription-attributes "$sub_arn"
expect 0 '{}' -- bb set-subscription-attributes "$sub_arn" FilterPolicyScope MessageBody
expect 0 '"FilterPolicyScope": "MessageBody"' -- bb get-subscription-attributes "$sub_arn"
expect 0 '{}' -- bb set-topic-attributes news DisplayName Renamed
expect 0 '"DisplayName": "Renamed"' -- bb get-topic-attributes news
expect 0 '{}' -- bb tag-resource news team=ops env=lab
expect 0 '"Key": "team"' -- bb list-tags-for-resource news
expect 0 '{}' -- bb untag-resource news env
expect 0 "\"TopicArn\": \"$topic:news\"" -- bb list-topics
expect 0 '"Protocol": "udp"' -- bb list-subscriptions --topic news
expect 0 '"Protocol": "sqs"' -- bb list-subscriptions

# busbard applies the snapshot carrying the topics and subscriptions: a change is answered
# once it has (or after busbar-control's wait), so its version is there now.
version=$(in_ns curl -s -m 10 "$endpoint/health" | json_field '["config_version"]' 2>/dev/null)
running=$(applied 2>/dev/null)
[ -n "$version" ] && [ "${running:-0}" -ge "$version" ] ||
	fail "busbard runs snapshot ${running:-none}, busbar-control's is ${version:-unknown}"

# http subscriptions wait for ConfirmSubscription with their token. (Each aws call takes
# seconds here: the AWS CLI runs each operation once, the busbar command the other checks.)
expect 0 'pending confirmation' -- sns subscribe --topic-arn "$topic:news" --protocol http \
	--notification-endpoint http://127.0.0.1:9/hook
expect 0 'PendingConfirmation' -- sns list-subscriptions-by-topic --topic-arn "$topic:news"
# The delivery side that sends the token to the endpoint is not built yet: read it from the store.
token=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
"SELECT token FROM sns_subscriptions WHERE protocol = ?", ("http",)).fetchone()[0])' "$db")
expect 1 'InvalidParameter: Invalid token' -- bb confirm-subscription news \
	"$(printf '0%.0s' $(seq 64))"
expect 0 "$topic:news:" -- sns confirm-subscription --topic-arn "$topic:news" --token "$token"
expect 0 '"SubscriptionsPending": "0"' -- bb get-topic-attributes news

# The AWS CLI: every call in SNS's query protocol, its XML read back by botocore.
expect 0 "\"TopicArn\": \"$topic:cli\"" -- sns create-topic --name cli \
	--attributes DisplayName=CLI --tags Key=k,Value=v
expect 0 "$topic:cli" -- sns list-topics
expect 0 '' -- sns set-topic-attributes --topic-arn "$topic:cli" --attribute-name DisplayName \
	--attribute-value CLI2
expect 0 '"DisplayName": "CLI2"' -- sns get-topic-attributes --topic-arn "$topic:cli"
expect 0 "$topic:cli:" -- sns subscribe --topic-arn "$topic:cli" --protocol sqs \
	--notification-endpoint arn:aws:sqs:local:000000000000:inbox \
	--attributes '{"FilterPolicy":"{\"n\":[{\"numeric\":[\">\",5]}]}"}'
cli_sub=$(json_field '["SubscriptionArn"]' <<<"$last_output")
expect 0 '' -- sns set-subscription-attributes --subscription-arn "$cli_sub" \
	--attribute-name RawMessageDelivery --attribute-value true
expect 0 '"RawMessageDelivery": "true"' -- sns get-subscription-attributes \
	--subscription-arn "$cli_sub"
expect 0 "$cli_sub" -- sns list-subscriptions
expect 0 '' -- sns tag-resource --resource-arn "$topic:cli" --tags Key=a,Value=b
expect 0 '"Key": "a"' -- sns list-tags-for-resource --resource-arn "$topic:cli"
expect 0 '' -- sns untag-resource --resource-arn "$topic:cli" --tag-keys a
expect 0 '"Key": "k"' -- bb list-tags-for-resource cli
grep -q '"Key": "a"' <<<"$last_output" && fail "untag-resource left the tag a"
expect 0 '' -- sns unsubscribe --subscription-arn "$cli_sub"
expect 1 'NotFound' -- bb unsubscribe "$cli_sub"
expect 254 'InvalidParameter.*FilterPolicy: ' -- sns subscribe --topic-arn "$topic:cli" \
	--protocol udp --notification-endpoint 10.77.0.1:7702 \
	--attributes '{"FilterPolicy":"{\"a\":{\"b\":[\"c\"]}}"}'
expect 1 'InvalidParameter' -- bb subscribe cli email a@example.com
expect 1 'ResourceNotFound' -- bb list-tags-for-resource nope
expect 0 '' -- sns delete-topic --topic-arn "$topic:cli"
expect 1 'NotFound: Topic does not exist' -- bb get-topic-attributes cli

# Publish and PublishBatch over HTTP go to busbard (ctl_sns_data.c) and back as SNS answers.
expect 0 '' -- bb create-topic pub
expect 0 "$topic:pub:" -- bb subscribe pub sqs dead RawMessageDelivery=true
expect 0 '"MessageId"' -- sns publish --topic-arn "$topic:pub" --message hello \
	--message-attributes '{"kind":{"DataType":"String","StringValue":"order"}}'
expect 0 '"Body": "hello"' -- run_client /usr/bin/aws --endpoint-url "$endpoint" --output json \
	sqs receive-message --queue-url "$endpoint/000000000000/dead" --wait-time-seconds 10
expect 0 '"Successful"' -- sns publish-batch --topic-arn "$topic:pub" \
	--publish-batch-request-entries Id=a,Message=one Id=b,Message=two
grep -q '"Failed": \[\]' <<<"$last_output" || fail "publish-batch: $last_output"
expect 254 'NotFound' -- sns publish --topic-arn "$topic:nope" --message hi
expect 254 'BatchEntryIdsNotDistinct' -- sns publish-batch --topic-arn "$topic:pub" \
	--publish-batch-request-entries Id=a,Message=one Id=a,Message=two

# A key allowed one topic's GetTopicAttributes: refused on another topic.
limited=(env AWS_ACCESS_KEY_ID="$limited_key" AWS_SECRET_ACCESS_KEY="$limited_secret")
expect 0 '' -- bb create-topic mine
expect 0 '"TopicArn"' -- run_client "${limited[@]}" /usr/bin/aws --endpoint-url "$endpoint" \
	--output json sns get-topic-attributes --topic-arn "$topic:mine"
expect 254 'AccessDenied' -- run_client "${limited[@]}" /usr/bin/aws --endpoint-url "$endpoint" \
	--output json sns get-topic-attributes --topic-arn "$topic:news"

# Deleting a topic removes its subscriptions.
expect 0 '' -- bb delete-topic news
expect 1 'NotFound' -- bb get-subscription-attributes "$sub_arn"

ns_finish sns_control
