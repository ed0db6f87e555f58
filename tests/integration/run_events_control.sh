#!/usr/bin/env bash
# EventBridge management (issue 14, issue 15) on the real stack in a network namespace of its
# own: busbard on a tap port and busbar-control with signatures checked. The busbar command
# and Debian's awscli (`aws events`, JSON 1.1) each make buses, rules and targets, list,
# describe, enable, disable, tag and delete them, with AWS's errors for a missing rule, a bad
# pattern (the compiler's reason), a rule with targets, a target that names nothing here and a
# key without the permission; busbard applies every version busbar-control pushes (so it took
# the buses, rules and targets of each snapshot). Every client talks to 127.0.0.1 inside the
# namespace only, each call is bounded, every process is stopped by PID. Exits 77 without
# awscli.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
[ -x /usr/bin/aws ] || { echo "skip: run scripts/setup.sh for: awscli"; exit 77; }
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

source "$here/lib.sh"

CONTROL_AUTH_ARGS="" # authentication on, as by default
endpoint=http://127.0.0.1:7680
db="$work/control.db"
bound_s=30 # a hang detector for one call, not a speed test
q_arn=arn:aws:sqs:local:000000000000

ns_setup
start_busbard
start_control "$db"

keys() { "$build/control/busbar-control" keys --db "$db" "$@"; }
new_key() {
	keys create --policy "$1" | python3 -c 'import json,sys
k = json.load(sys.stdin)["Key"]; print(k["AccessKeyId"], k["SecretAccessKey"])'
}
admin_policy='{"Version":"2012-10-17",
  "Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
# Reads rules of the bus "orders" only.
reader_policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["events:DescribeRule","events:ListRules"],
  "Resource":["arn:aws:events:*:*:rule/orders/*","arn:aws:events:*:*:event-bus/orders"]}]}'
read -r admin_key admin_secret <<<"$(new_key "$admin_policy")"
read -r reader_key reader_secret <<<"$(new_key "$reader_policy")"
[ -n "$admin_key" ] && [ -n "$reader_key" ] || fail "cannot create keys"
keys create --policy "$admin_policy" >"$work/admin.key" && chmod 600 "$work/admin.key"

client_env=(env -i PATH=/usr/bin:/bin HOME="$work" AWS_EC2_METADATA_DISABLED=true
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1
	AWS_DEFAULT_REGION=local AWS_ACCESS_KEY_ID="$admin_key"
	AWS_SECRET_ACCESS_KEY="$admin_secret")
run_client() { timeout "$bound_s" ip netns exec "$ns" "${client_env[@]}" "$@"; }
awsev() { run_client /usr/bin/aws --endpoint-url "$endpoint" --output json events "$@"; }
bb() { timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
	--endpoint "$endpoint" --key-file "$work/admin.key" "$@"; }

# busbard applies what busbar-control pushed: /health has both versions equal.
wait_applied() {
	local out
	for _ in $(seq 100); do
		out=$(in_ns curl -s -m 5 "$endpoint/health")
		if python3 -c 'import json,sys; h = json.loads(sys.argv[1])
sys.exit(0 if h["status"] == "ok" and h["config_version"] == h["busbard_version"] else 1)' \
			"$out" 2>/dev/null; then
			echo "ok: busbard applied busbar-control's version ($1)"
			return 0
		fi
		sleep 0.1
	done
	fail "busbard did not apply busbar-control's version ($1): $out"
}

# --- The busbar command.
expect 0 QueueUrl -- bb create-queue q
expect 0 QueueUrl -- bb create-queue dlq
expect 0 'event-bus/orders' -- bb create-event-bus orders
expect 1 ResourceAlreadyExistsException -- bb create-event-bus orders
expect 0 'event-bus/rig' -- bb create-event-bus rig --durability memory
expect 0 '"Name": "orders"' -- bb list-event-buses --prefix ord
expect 0 '"Name": "default"' -- bb list-event-buses
expect 0 'rule/orders/big' -- bb put-rule big --event-bus orders \
	'pattern={"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}' description=large
expect 1 'InvalidEventPatternException: Event pattern is not valid. Reason: .' -- \
	bb put-rule bad --event-bus orders 'pattern={"source":[{"nope":1}]}'
expect 1 ValidationException -- bb put-rule tick 'schedule=rate(1 minutes)'
expect 0 'rule/tick' -- bb put-rule tick 'schedule=rate(5 minutes)' state=DISABLED
expect 0 '"FailedEntryCount": 0' -- bb put-targets big --event-bus orders "q=$q_arn:q" \
	'{"Id":"u","Arn":"udp://10.77.0.1:9000","InputPath":"$.detail",
	  "RetryPolicy":{"MaximumRetryAttempts":2},"DeadLetterConfig":{"Arn":"'"$q_arn"':dlq"}}'
expect 1 'Queue nope does not exist' -- bb put-targets big --event-bus orders "n=$q_arn:nope"
expect 0 '"Id": "u"' -- bb list-targets-by-rule big --event-bus orders
expect 0 '"State": "ENABLED"' -- bb describe-rule big --event-bus orders
expect 0 '' -- bb disable-rule big --event-bus orders
expect 0 '"State": "DISABLED"' -- bb describe-rule big --event-bus orders
expect 0 '' -- bb enable-rule big --event-bus orders
expect 0 '"Name": "big"' -- bb list-rules --event-bus orders
expect 1 'ResourceNotFoundException' -- bb describe-rule nope --event-bus orders
expect 1 "Rule can't be deleted since it has targets." -- bb delete-rule big --event-bus orders
expect 0 '"Result": true' -- bb test-event-pattern '{"source":["shop"]}' \
	'{"id":"1","account":"000000000000","source":"shop","time":"2026-01-01T00:00:00Z",
	  "region":"local","resources":[],"detail-type":"t","detail":{}}'
wait_applied "after the busbar command's changes"

# --- awscli, the same calls in EventBridge's own protocol.
expect 0 'event-bus/audit' -- awsev create-event-bus --name audit
expect 0 '"Name": "audit"' -- awsev describe-event-bus --name audit
expect 0 'rule/audit/all' -- awsev put-rule --name all --event-bus-name audit \
	--event-pattern '{"detail-type":[{"prefix":"order"}]}' --description everything
expect 254 'InvalidEventPatternException' -- awsev put-rule --name x --event-bus-name audit \
	--event-pattern '{"detail-type":"order"}'
expect 254 'ResourceNotFoundException' -- awsev describe-rule --name none --event-bus-name audit
expect 0 '"FailedEntryCount": 0' -- awsev put-targets --rule all --event-bus-name audit \
	--targets "Id=q,Arn=$q_arn:q" "Id=b,Arn=arn:aws:events:local:000000000000:event-bus/orders"
expect 0 '"FailedEntryCount": 1' -- awsev put-targets --rule all --event-bus-name audit \
	--targets "Id=other,Arn=arn:aws:sqs:local:111111111111:q"
expect 0 '"Id": "b"' -- awsev list-targets-by-rule --rule all --event-bus-name audit
expect 0 '"all"' -- awsev list-rule-names-by-target --target-arn "$q_arn:q" \
	--event-bus-name audit
expect 0 '"EventPattern": "{\\"detail-type\\":' -- awsev describe-rule --name all \
	--event-bus-name audit
expect 0 '"Result": false' -- awsev test-event-pattern --event-pattern '{"source":["x"]}' \
	--event '{"id":"1","account":"000000000000","source":"shop","time":"2026-01-01T00:00:00Z",
	  "region":"local","resources":[],"detail-type":"t","detail":{}}'
rule_arn=arn:aws:events:local:000000000000:rule/audit/all
expect 0 '' -- awsev tag-resource --resource-arn "$rule_arn" --tags Key=team,Value=ops
expect 0 '"Key": "team"' -- awsev list-tags-for-resource --resource-arn "$rule_arn"
expect 0 '' -- awsev untag-resource --resource-arn "$rule_arn" --tag-keys team
expect 0 '"Rules"' -- awsev list-rules --event-bus-name audit --limit 1
wait_applied "after awscli's changes"

# A key allowed to read the bus orders' rules reads them and changes nothing.
reader=(AWS_ACCESS_KEY_ID="$reader_key" AWS_SECRET_ACCESS_KEY="$reader_secret")
expect 0 '"Name": "big"' -- run_client "${reader[@]}" /usr/bin/aws --endpoint-url "$endpoint" \
	--output json events describe-rule --name big --event-bus-name orders
expect 254 'AccessDenied' -- run_client "${reader[@]}" /usr/bin/aws --endpoint-url "$endpoint" \
	--output json events disable-rule --name big --event-bus-name orders
expect 254 'AccessDenied' -- run_client "${reader[@]}" /usr/bin/aws --endpoint-url "$endpoint" \
	--output json events describe-rule --name all --event-bus-name audit

# --- Taking it all down, through both clients.
expect 0 '"FailedEntryCount": 0' -- bb remove-targets big --event-bus orders q u
expect 0 '' -- bb delete-rule big --event-bus orders
expect 0 '' -- awsev remove-targets --rule all --event-bus-name audit --ids q b
expect 0 '' -- awsev delete-rule --name all --event-bus-name audit
expect 0 '' -- awsev delete-event-bus --name audit
expect 254 'ValidationException' -- awsev delete-event-bus --name default
expect 0 '' -- bb delete-event-bus orders
expect 1 'ResourceNotFoundException' -- bb describe-event-bus orders
wait_applied "after the deletes"

ns_finish run_events_control
