#!/usr/bin/env bash
# EventBridge archives end to end (issue 14): busbar-control and busbard in a network
# namespace of its own. Debian's awscli (`aws events`, JSON 1.1, --insecure-no-auth) makes a
# bus, a rule to a queue and an archive of the bus, and sees the archive's calls and errors;
# events go in with busbar put-events over UDP. busbard must keep each delivered event's PUT
# record for the archive (stats archive_kept), keep them across a SIGKILL and restart
# (recovery finds them with their DONE: archive_kept again, nothing delivered twice), and
# release them once the archive is deleted (archive_released). Replays are not built yet:
# StartReplay answers UnknownOperationException. Every call is bounded by timeout, every
# process is stopped by PID, all traffic stays inside the namespace.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
[ -x /usr/bin/aws ] || { echo "skip: run scripts/setup.sh for: awscli"; exit 77; }
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
# About 30 awscli calls of a few seconds each on a loaded machine: busbard and busbar-control
# live longer than lib.sh's default, within meson's 600 s.
BB_RUN_SECONDS=${BB_RUN_SECONDS:-560}
source "$here/lib.sh"

endpoint=http://127.0.0.1:7680
bound_s=60 # a hang detector for one call, not a speed test
bus_arn=arn:aws:events:local:000000000000:event-bus/shop
events=3

ns_setup
start_busbard
start_control

client_env=(env -i PATH=/usr/bin:/bin HOME="$work" AWS_EC2_METADATA_DISABLED=true
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1
	AWS_DEFAULT_REGION=local AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=none)
awsev() { timeout "$bound_s" ip netns exec "$ns" "${client_env[@]}" /usr/bin/aws \
	--endpoint-url "$endpoint" --output json events "$@"; }
bb() { timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
	--endpoint "$endpoint" "$@"; }
stat_of() { busbar --local "$socket" stats | json_field "[\"$1\"]"; }

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

# wait_stat NAME VALUE: the worker counter reaches VALUE (deliveries finish in the
# background of PutEvents' answer).
wait_stat() {
	local v
	for _ in $(seq 100); do
		v=$(stat_of "$1")
		[ "$v" = "$2" ] && { echo "ok: $1 = $2"; return 0; }
		sleep 0.1
	done
	fail "$1 is $v, not $2"
}

# --- The bus, its rule to a queue, its archive (awscli).
expect 0 QueueUrl -- bb create-queue orders
expect 0 "$bus_arn" -- awsev create-event-bus --name shop
expect 0 'rule/shop/all' -- awsev put-rule --name all --event-bus-name shop \
	--event-pattern '{"source":["shop"]}'
expect 0 '"FailedEntryCount": 0' -- awsev put-targets --rule all --event-bus-name shop \
	--targets "Id=q,Arn=arn:aws:sqs:local:000000000000:orders"
expect 0 '"State": "ENABLED"' -- awsev create-archive --archive-name shop-all \
	--event-source-arn "$bus_arn" --retention-days 7 --event-pattern '{"source":["shop"]}'
expect 254 'ResourceAlreadyExistsException' -- awsev create-archive --archive-name shop-all \
	--event-source-arn "$bus_arn"
expect 254 'ResourceNotFoundException' -- awsev create-archive --archive-name x \
	--event-source-arn arn:aws:events:local:000000000000:event-bus/none
expect 0 '"RetentionDays": 7' -- awsev describe-archive --archive-name shop-all
expect 0 '"ArchiveName": "shop-all"' -- awsev list-archives --event-source-arn "$bus_arn"
expect 0 '"State": "ENABLED"' -- awsev update-archive --archive-name shop-all \
	--retention-days 30
expect 0 '"RetentionDays": 30' -- awsev describe-archive --archive-name shop-all
expect 254 'UnknownOperationException' -- awsev start-replay --replay-name r \
	--event-source-arn arn:aws:events:local:000000000000:archive/shop-all \
	--event-start-time 2026-01-01T00:00:00Z --event-end-time 2026-01-02T00:00:00Z \
	--destination "Arn=$bus_arn"
wait_applied "bus, rule, target, archive"

# --- Events: delivered, and each PUT record kept for the archive.
for i in $(seq "$events"); do
	expect 0 '"FailedEntryCount":0' -- busbar put-events --bus shop --source shop \
		--detail-type order --detail "{\"id\":$i}"
done
wait_stat fanout_done "$events"
wait_stat archive_kept "$events"

# --- SIGKILL, restart: recovery keeps them again, delivers none again.
kill -9 "$busbard_pid"
wait "$busbard_pid" 2>/dev/null
start_busbard
if kill -0 "$busbard_pid" 2>/dev/null; then
	wait_applied "after busbard's restart"
	wait_stat archive_kept "$events"
	wait_stat fanout_recovered 0
else
	fail "busbard did not recover after SIGKILL: $(tail -1 "$work/busbard.log")"
fi

# --- DeleteArchive: the records go.
expect 0 '' -- awsev delete-archive --archive-name shop-all
expect 254 'ResourceNotFoundException' -- awsev describe-archive --archive-name shop-all
wait_applied "archive deleted"
wait_stat archive_released "$events"

ns_finish archive
