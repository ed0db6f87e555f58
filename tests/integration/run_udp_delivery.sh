#!/usr/bin/env bash
# udp subscriptions and udp rule targets end to end (issue 14): busbar-control and busbard
# (one worker) in a network namespace of their own. A topic with a raw udp subscription to
# 10.77.0.1:9100 and a rule with a udp://10.77.0.1:9101 target are made with the busbar
# command; `busbar listen --port N --count 1` receives what busbar publish and busbar
# put-events send there, prints it as a JSON line (body, MessageId or event id, the topic's
# or rule's ARN, the subscription or target) and acks it, and busbard counts the Ack. Then a
# listener that never acks (python3 on the same port) sees the same delivery sent again with
# attempts 1, 2, 3 and one id, and `busbar listen` started after it gets that delivery once
# more and acks it: retries until an Ack, at least once. Every call is bounded by timeout,
# every process is stopped by PID, all traffic stays inside the namespace.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"

BUSBARD_WORKERS=1 # a worker learns an address from the ARP replies it receives itself
endpoint=http://127.0.0.1:7680
bound_s=60 # a hang detector for one call, not a speed test
topic_arn=arn:aws:sns:local:000000000000:alerts
subscriber=10.77.0.1

ns_setup
start_busbard
start_control

bb() { timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
	--endpoint "$endpoint" "$@"; }
data() { timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
	--server "$server" "$@"; }
counter() { busbar --local "$socket" stats | json_field "[\"$1\"]"; }

# busbard applies what busbar-control pushed: /health has both versions equal.
wait_applied() {
	local out
	for _ in $(seq 100); do # at most 100 * 1.1 s
		out=$(in_ns curl -s -m 1 "$endpoint/health")
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

# listen PORT FILE: `busbar listen` for one delivery in the background ($listen_pid), its
# JSON line into FILE; returns once its socket is bound.
listen() {
	timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
		--server "$server" listen --port "$1" --count 1 >"$2" 2>"$2.err" &
	listen_pid=$!
	for _ in $(seq 100); do
		in_ns ss -Huan "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	fail "busbar listen never bound port $1: $(cat "$2.err")"
}

# check_line FILE PYTHON: PYTHON, given the printed delivery `d` (a dict), must not raise.
check_line() {
	local why
	if why=$(python3 -c 'import json,sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
'"$2" "$1" 2>&1); then
		echo "ok: $(cat "$1")"
	else
		fail "$1: $why: $(cat "$1") $(cat "$1.err")"
	fi
}

# --- Resources, with the busbar command (busbar-control's API).
expect 0 "$topic_arn" -- bb create-topic alerts
expect 0 "$topic_arn:" -- bb subscribe alerts udp "$subscriber:9100" RawMessageDelivery=true
expect 0 'event-bus/shop' -- bb create-event-bus shop
expect 0 'rule/shop/ship' -- bb put-rule ship --event-bus shop 'pattern={"source":["shop"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets ship --event-bus shop \
	"listener=udp://$subscriber:9101"
wait_applied "a topic with a udp subscription, a rule with a udp target"

# --- A publish reaches busbar listen, which acks it.
listen 9100 "$work/got.publish"
expect 0 MessageId -- data publish alerts 'hello over udp'
message_id=$(json_field '["MessageId"]' <<<"$last_output")
wait "$listen_pid" || fail "busbar listen (publish) exited $?: $(cat "$work/got.publish.err")"
check_line "$work/got.publish" 'assert d["Body"] == "hello over udp"
assert d["MessageId"] == "'"$message_id"'"
assert d["SourceArn"].endswith(":alerts"), d["SourceArn"]
assert d["Subscription"].startswith(d["SourceArn"] + ":"), d["Subscription"]
assert int(d["DeliveryId"]) > 0 and d["Attempt"] >= 1'

# --- An event reaches the rule's udp target.
listen 9101 "$work/got.event"
expect 0 '"FailedEntryCount":0' -- data put-events --bus shop --source shop \
	--detail-type order --detail '{"id":7}'
event_id=$(json_field '["Entries"][0]["EventId"]' <<<"$last_output")
wait "$listen_pid" || fail "busbar listen (event) exited $?: $(cat "$work/got.event.err")"
check_line "$work/got.event" 'event = json.loads(d["Body"])
assert event["source"] == "shop" and event["detail"] == {"id": 7}, event
assert d["MessageId"] == event["id"] == "'"$event_id"'"
assert d["SourceArn"].endswith(":rule/shop/ship") and d["Subscription"] == "listener", d'

# --- Without an Ack the delivery comes again; busbar listen then acks it.
cat >"$work/deaf.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
open(sys.argv[3], "w").close()  # bound: the publish may go
for _ in range(3):
    frame, _ = s.recvfrom(70000)
    opcode, request_id = frame[3], struct.unpack_from("<Q", frame, 24)[0]
    tag, length, attempt = struct.unpack_from("<HII", frame, 64)
    assert opcode == 0x40 and tag == 91 and length == 4, (opcode, tag, length)
    print(request_id, attempt, flush=True)
EOF
timeout "$bound_s" ip netns exec "$ns" python3 "$work/deaf.py" "$subscriber" 9100 \
	"$work/deaf.bound" >"$work/deaf.out" 2>&1 &
deaf_pid=$!
for _ in $(seq 100); do [ -e "$work/deaf.bound" ] && break; sleep 0.1; done
expect 0 MessageId -- data publish alerts 'ack me later'
wait "$deaf_pid" || fail "the deaf listener exited $?: $(cat "$work/deaf.out")"
if python3 -c 'import sys
rows = [l.split() for l in open(sys.argv[1])]
assert [r[1] for r in rows] == ["1", "2", "3"], rows
assert len({r[0] for r in rows}) == 1, rows' "$work/deaf.out"; then
	echo "ok: unacked, sent again: $(tr '\n' ' ' <"$work/deaf.out")"
else
	fail "the deaf listener saw: $(cat "$work/deaf.out")"
fi
deaf_id=$(head -1 "$work/deaf.out" | cut -d' ' -f1)
listen 9100 "$work/got.late"
wait "$listen_pid" || fail "busbar listen (late) exited $?: $(cat "$work/got.late.err")"
check_line "$work/got.late" 'assert d["Body"] == "ack me later"
assert d["DeliveryId"] == "'"$deaf_id"'" and d["Attempt"] >= 4, d'

# --- busbard's counters: three Acks, every publish and event done, nothing failed.
for _ in $(seq 50); do [ "$(counter fanout_done)" -ge 3 ] && break; sleep 0.1; done
for pair in udp_deliveries_acked:3 fanout_done:3 fanout_failed:0 udp_acks_refused:0; do
	name=${pair%%:*} want=${pair#*:} got=$(counter "$name")
	[ "$got" = "$want" ] && echo "ok: $name $got" || fail "$name is $got, not $want"
done
retries=$(counter fanout_retries)
[ "$retries" -ge 3 ] && echo "ok: fanout_retries $retries" || fail "fanout_retries $retries"

ns_finish run_udp_delivery
