#!/usr/bin/env bash
# Authenticated UDP requests end to end (issue 16): busbard in its default mode (every UDP
# request signed), keys made with busbar-control keys and pushed in the snapshot, the busbar
# command and hand-built packets (tests/integration/auth_packet.py, written from
# docs/protocol.md alone). An unsigned request, a wrong secret, a flipped bit, a stale or
# future timestamp, a revoked key, a rotated key past its overlap and a missing permission are
# each refused with their documented status, and none of them leaves a message in a queue; a
# replayed request gets the first answer and acts once; a key rotated with an overlap keeps
# working while traffic runs. Key management over HTTP (busbar keys, SigV4): the admin key
# makes the sender key, which may send but not manage keys (AccessDenied), lists keys without
# secrets and revokes the sender, whose next UDP request busbard refuses; a busbar-control in
# --insecure-no-auth serves no key management at all. Takes the build and source directories;
# exits 77 where lib.sh says.
set -uo pipefail

BUSBARD_AUTH_JSON=""
CONTROL_AUTH_ARGS="" # busbar-control checks SigV4 too: key management over HTTP needs it
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packet() { in_ns python3 "$source_dir/tests/integration/auth_packet.py" "$@"; }
# A snapshot with every key change so far: busbar-control's version as /health says it.
wait_keys() {
	local v
	v=$(in_ns curl -s http://127.0.0.1:7680/health | json_field '["config_version"]')
	wait_snapshot "$v"
}
# queue_depth QUEUE KEYFILE: messages received (and left in flight) from QUEUE.
queue_depth() {
	busbar --key-file "$2" receive "$1" --max 10 --wait 0 --visibility-timeout 600 |
		json_field '["Messages"].__len__()'
}

ns_setup
start_busbard
start_control
[ -S "$socket" ] || { fail "busbard did not start"; ns_finish run_auth; }
grep -q "UDP requests must be signed" "$work/busbard.log" || fail "busbard did not say auth mode"

# The first key comes from the database; the admin may manage keys over HTTP (busbar:*).
create_key "$work/admin.json" \
	'{"Statement":[{"Effect":"Allow","Action":["sqs:*","busbar:*"],"Resource":"*"}]}'
send_orders='{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage",'
send_orders+='"Resource":"arn:aws:sqs:*:*:orders"}]}'
(umask 077; busbar --key-file "$work/admin.json" keys create --policy "$send_orders" \
	>"$work/sender.json") || fail "busbar keys create over HTTP"
grep -q '"SecretAccessKey"' "$work/sender.json" || fail "keys create printed no secret"
[ "$(wc -l <"$work/sender.json")" = 1 ] || fail "keys create printed more than one line"
[ "$(stat -c %a "$work/admin.json")" = 600 ] || fail "key file not 0600"
expect 1 'MissingAuthenticationToken' -- busbar create-queue unsigned
expect 0 'QueueUrl' -- busbar --key-file "$work/admin.json" create-queue orders
expect 0 'QueueUrl' -- busbar --key-file "$work/admin.json" create-queue other
wait_keys
[ "$(stat -c %a "$work/state/snapshot.bbs")" = 600 ] || fail "snapshot with secrets not 0600"

# Signed requests work; unsigned and wrongly signed ones are refused.
expect 0 'MessageId' -- busbar --key-file "$work/admin.json" send orders one
expect 0 '"Ping":"ok"' -- busbar --key-file "$work/admin.json" ping
expect 1 'MissingAuthenticationToken' -- busbar send orders unsigned
python3 - "$work/admin.json" "$work/wrong.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
k["Key"]["SecretAccessKey"] = "x" * 40
json.dump(k, open(sys.argv[2], "w"))
PY
chmod 600 "$work/wrong.json"
expect 1 'SignatureDoesNotMatch' -- busbar --key-file "$work/wrong.json" send orders wrong
chmod 644 "$work/wrong.json"
expect 2 'chmod 600' -- busbar --key-file "$work/wrong.json" send orders wrong

# Hand-built packets: the MAC as docs/protocol.md specifies it is accepted.
expect 0 '^OK$' -- packet "$work/admin.json" "$server" 7600 orders two --request-id 10
for bit in 0 40 100 330 520 560; do # magic, opcode, key id, MAC, body fields
	expect 0 '^\(SignatureDoesNotMatch\|InvalidClientTokenId\|no-reply\|RequestExpired\)$' -- \
		packet "$work/admin.json" "$server" 7600 orders flipped --request-id 11 \
		--flip-bit $bit
done
expect 0 '^RequestExpired$' -- packet "$work/admin.json" "$server" 7600 orders stale \
	--request-id 12 --skew-ms -301000
expect 0 '^RequestExpired$' -- packet "$work/admin.json" "$server" 7600 orders future \
	--request-id 13 --skew-ms 301000
# A replay: the same datagram twice gets the first answer twice and acts once.
expect 0 '^OK OK$' -- packet "$work/admin.json" "$server" 7600 orders three --request-id 20 \
	--send-twice
# Older than the replay window (1024 ids below the newest): nothing at all.
expect 0 '^OK$' -- packet "$work/admin.json" "$server" 7600 orders four --request-id 5000
expect 0 '^no-reply$' -- packet "$work/admin.json" "$server" 7600 orders old --request-id 30

# Permissions: the sender key may only send to orders.
expect 0 'MessageId' -- busbar --key-file "$work/sender.json" send orders five
expect 1 'AccessDenied' -- busbar --key-file "$work/sender.json" send other denied
expect 1 'AccessDenied' -- busbar --key-file "$work/sender.json" receive orders --wait 0

# Key management needs busbar:<Action>: the sender's sqs policy is refused it.
sender_id=$(json_field '["Key"]["AccessKeyId"]' <"$work/sender.json")
expect 1 'AccessDenied' -- busbar --key-file "$work/sender.json" keys list
expect 1 'AccessDenied' -- busbar --key-file "$work/sender.json" keys create
expect 1 'AccessDenied' -- busbar --key-file "$work/sender.json" keys revoke "$sender_id"
# Listed over HTTP: both keys, no secret.
expect 0 "$sender_id" -- busbar --key-file "$work/admin.json" keys list
listed=$last_output
for file in admin sender; do
	secret=$(json_field '["Key"]["SecretAccessKey"]' <"$work/$file.json")
	grep -qF -- "$secret" <<<"$listed" && fail "keys list shows the $file key's secret"
done
grep -q 'SecretAccessKey' <<<"$listed" && fail "keys list has a SecretAccessKey"

# Revoked over HTTP: refused once busbard has the snapshot without it.
expect 0 '^{}$' -- busbar --key-file "$work/admin.json" keys revoke "$sender_id"
wait_keys
expect 1 'InvalidClientTokenId' -- busbar --key-file "$work/sender.json" send orders revoked

# Rotation during traffic: the old key keeps working through its overlap.
admin_id=$(json_field '["Key"]["AccessKeyId"]' <"$work/admin.json")
(for i in $(seq 40); do
	busbar --key-file "$work/admin.json" send other "during $i" >/dev/null || echo "lost $i"
done) >"$work/traffic.out" 2>&1 &
traffic_pid=$!
(umask 077; "$build/control/busbar-control" keys --db "$work/control.db" rotate "$admin_id" \
	--overlap-seconds 3600 >"$work/admin2.json") || fail "rotate"
wait_keys
wait "$traffic_pid"
[ -s "$work/traffic.out" ] && fail "sends failed during rotation: $(cat "$work/traffic.out")"
expect 0 'MessageId' -- busbar --key-file "$work/admin2.json" send orders six
expect 0 'MessageId' -- busbar --key-file "$work/admin.json" send orders seven
# Rotating the new key with no overlap ends it at once.
admin2_id=$(json_field '["Key"]["AccessKeyId"]' <"$work/admin2.json")
(umask 077; "$build/control/busbar-control" keys --db "$work/control.db" rotate "$admin2_id" \
	--overlap-seconds 0 >"$work/admin3.json") || fail "rotate"
wait_keys
expect 1 'InvalidClientTokenId' -- busbar --key-file "$work/admin2.json" send orders expired
expect 0 'MessageId' -- busbar --key-file "$work/admin3.json" send orders eight

# Nothing refused acted: orders holds one two three four five six seven eight.
depth=$(queue_depth orders "$work/admin3.json")
[ "$depth" = 8 ] || fail "orders holds $depth messages, wanted 8"

# A lab's --insecure-no-auth serves no key management over HTTP, signed or not.
kill "$control_pid"
wait "$control_pid"
CONTROL_AUTH_ARGS="--insecure-no-auth" start_control
expect 1 'AccessDenied' -- busbar keys create
expect 1 'AccessDenied' -- busbar --key-file "$work/admin3.json" keys list
ns_finish run_auth
