#!/usr/bin/env bash
# Runs the appliance on its embedded default and shows it working: installs
# what is missing, builds, starts busbard on a net_tap port (bb0, 10.77.0.2;
# busbard gives the kernel side 10.77.0.1, config/busbard.json's
# port.kernel_ipv4, at every start) and busbar-control on 127.0.0.1:7680,
# creates a queue, sends, receives and deletes with the busbar command, routes
# a topic's publish and a rule's event into a queue (docs/routing.md), and
# prints what happened (signing every request with a key it makes once,
# $BUSBAR_STATE_DIR/demo-key.json). Then it keeps serving until Ctrl-C, and stops both
# processes by PID. BUSBAR_RUN_SECONDS=N stops it after N seconds instead.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
build=${BUSBAR_BUILD_DIR:-build}
[ -d "$build" ] || meson setup "$build"
meson compile -C "$build" >/dev/null

state=${BUSBAR_STATE_DIR:-/var/lib/busbar}
run_dir=/run/busbar
socket="$run_dir/busbard.sock"
mkdir -p "$state" "$run_dir"
busbar() { "$build/client/busbar" "$@"; }
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

pids=()
stop() {
	say "stopping busbar-control and busbard"
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# busbard is pids[0]: the demo kills it with SIGKILL once and starts it again.
start_busbard() {
	rm -f "$socket"
	"$build/dataplane/busbard" --config config/busbard.json --unix-socket "$socket" \
		--state-dir "$state" &
	pids[0]=$!
	for _ in $(seq 300); do
		ip link show bb0 >/dev/null 2>&1 && [ -S "$socket" ] && break
		sleep 0.1
	done
}

say "starting busbard (config/busbard.json: tap bb0, 10.77.0.2 udp/7600, kernel side 10.77.0.1)"
start_busbard

say "starting busbar-control (SQS API on http://127.0.0.1:7680, store $state/control.db)"
"$build/control/busbar-control" --db "$state/control.db" --busbard-socket "$socket" &
pids+=($!)
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/7680) 2>/dev/null && break
	sleep 0.1
done

# busbard takes signed requests only (config "auth", docs/operations.md "Keys"): a key for the
# demo, made once, kept 0600 beside the database; the busbar command finds it in BUSBAR_KEY_FILE.
# Its policy is set at every run, so a key made by an older demo may route too.
key_file="$state/demo-key.json"
policy='{"Statement":[{"Effect":"Allow","Action":["sqs:*","sns:*","events:*"],
 "Resource":"*"}]}'
if [ ! -s "$key_file" ]; then
	say "$ busbar-control keys create --policy '(every SQS, SNS, EventBridge action)' > $key_file"
	(umask 077; "$build/control/busbar-control" keys --db "$state/control.db" create \
		--policy "$policy" >"$key_file")
fi
key_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Key"]["AccessKeyId"])' \
	"$key_file")
"$build/control/busbar-control" keys --db "$state/control.db" put-policy "$key_id" \
	--policy "$policy" >/dev/null
export BUSBAR_KEY_FILE="$key_file"

# Waits (at most 10 s) until busbard has applied busbar-control's configuration (/health).
wait_applied() {
	python3 - <<'PY'
import json, time, urllib.request
for _ in range(100):
    try:
        h = json.load(urllib.request.urlopen("http://127.0.0.1:7680/health", timeout=1))
        if h.get("config_version") == h.get("busbard_version"):
            break
    except OSError:
        pass
    time.sleep(0.1)
PY
}

# Receives from QUEUE until COUNT messages came (at most 10 long polls of 2 s), prints their
# bodies and deletes them.
receive_and_delete() {
	local queue=$1 count=$2 got=0 out
	for _ in $(seq 10); do
		out=$(busbar receive "$queue" --max 10 --wait 2 --visibility-timeout 60)
		got=$((got + $(python3 -c 'import json,sys
ms = json.load(sys.stdin)["Messages"]
for m in ms: print("  received:", m["Body"], file=sys.stderr)
print(len(ms))' <<<"$out")))
		python3 -c 'import json,sys
for m in json.load(sys.stdin)["Messages"]: print(m["ReceiptHandle"])' <<<"$out" |
			while read -r handle; do busbar delete "$queue" "$handle" >/dev/null; done
		[ "$got" -ge "$count" ] && return 0
	done
	echo "only $got of $count messages arrived in $queue" >&2
	return 1
}

say "$ busbar create-queue demo"
busbar create-queue demo
say "$ busbar list-queues"
busbar list-queues
for i in 1 2 3; do
	say "$ busbar send demo 'order $i'"
	busbar send demo "order $i"
done
say "$ busbar receive demo --max 10 --visibility-timeout 60"
received=$(busbar receive demo --max 10 --visibility-timeout 60)
echo "$received"
say "deleting what was received"
python3 -c 'import json,sys; [print(m["ReceiptHandle"]) for m in json.load(sys.stdin)["Messages"]]' \
	<<<"$received" | while read -r handle; do
	busbar delete demo "$handle" && echo "deleted $handle"
done
say "$ busbar send demo 'survives a crash'   (answered once it is on disk: written and fdatasync'd)"
busbar send demo "survives a crash"
say "$ kill -9 busbard; start busbard again   (it replays its log, $state/log-0)"
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
start_busbard
say "$ busbar receive demo --wait 5"
busbar receive demo --wait 5

# Routing (docs/routing.md): a topic's sqs subscription and a rule's queue target, on the
# default bus, deliver into one queue. Each change below is answered once busbard applied it;
# wait_applied covers a run that changes nothing but the key's policy.
say "$ busbar create-queue inbox; busbar create-topic news"
busbar create-queue inbox >/dev/null
busbar create-topic news
say "$ busbar subscribe news sqs inbox RawMessageDelivery=true"
busbar subscribe news sqs inbox RawMessageDelivery=true
pattern='pattern={"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}'
say "$ busbar put-rule big-orders '$pattern'"
busbar put-rule big-orders "$pattern"
say "$ busbar put-targets big-orders inbox=arn:aws:sqs:local:000000000000:inbox"
busbar put-targets big-orders inbox=arn:aws:sqs:local:000000000000:inbox
wait_applied
say "$ busbar publish news 'hello subscribers'   (answered once its record is fdatasync'd)"
busbar publish news 'hello subscribers'
for total in 500 5; do
	say "$ busbar put-events --source shop --detail-type order --detail '{\"total\":$total}'"
	busbar put-events --source shop --detail-type order --detail "{\"total\":$total}"
done
say "$ busbar receive inbox ...   (the publish and the event of total 500; the rule skips 5)"
receive_and_delete inbox 2
say "$ ping -c 2 10.77.0.2   (ICMP echo answered by the DPDK dataplane)"
ping -c 2 -W 1 10.77.0.2 | tail -2
say "$ busbar --local $socket stats"
busbar --local "$socket" stats

if [ -n "${BUSBAR_RUN_SECONDS:-}" ]; then
	sleep "$BUSBAR_RUN_SECONDS"
else
	say "busbar is serving: try '$build/client/busbar send demo hi' in another shell; Ctrl-C stops it"
	wait -n "${pids[@]}"
fi
