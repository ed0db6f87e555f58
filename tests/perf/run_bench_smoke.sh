#!/usr/bin/env bash
# Smoke run of busbar-bench, every mode for about a second over memif (no namespace: memif is
# a Unix socket and shared memory): the closed and open loop of ping and send, send-receive-
# delete cycles, against busbard, testpmd 5tswap and the kernel UDP echo, each started and
# stopped by the scenario runner by PID with a bounded run time. `--check` makes the runner
# fail when any request went unanswered or was refused; nothing is asserted about speed.
# Durable sends into busbard's log; the Redis and NATS JetStream peers when their servers
# and client libraries are here; PutEvents routed through the COMBO rules (memif-route).
# A run whose answers are mostly refusals reports no rate and fails (unit-tested in
# bench_load); a send scenario that could fill the queue is refused before it runs.
# Exit 77 (skipped) without dpdk-testpmd (Debian's dpdk package).
set -uo pipefail

build=${1:?build directory}
source_dir=${2:?source directory}
bench="$build/perf/busbar-bench"
scenarios="$source_dir/perf/scenarios"
command -v dpdk-testpmd >/dev/null || { echo "skip: no dpdk-testpmd"; exit 77; }
[ -x "$bench" ] || { echo "FAIL: $bench not built"; exit 1; }
failures=0
out=$(mktemp /tmp/busbar-bench-smoke.XXXXXX)
trap 'rm -f "$out"' EXIT

# A short run of a scenario: a second counted, one open-loop run at a fifth of the measured
# rate (light, so a loaded CI machine still answers everything), no hugepages needed.
smoke() {
	local name=$1
	shift
	if ! timeout 600 "$bench" scenario "$scenarios/$name" --seconds 1 --warmup 0.2 \
		--fractions 0.2 --no-huge --check "$@" >"$out" 2>"$out.err"; then
		echo "FAIL: scenario $name"; cat "$out" "$out.err"; failures=$((failures + 1))
		return
	fi
	echo "ok: $name ($(grep -c '"system"' "$out") result lines)"
	if grep -q '"system":"busbard"' "$out" && ! grep -q '"summary":true' "$out"; then
		echo "FAIL: $name printed no summary"; failures=$((failures + 1))
	fi
}

expect_rows() {
	local want=$1 name=$2
	local got
	got=$(grep -c '"system"' "$out")
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $name: $got result lines, wanted $want"; failures=$((failures + 1))
	fi
}

# Ping: three systems, a closed and an open run each.
smoke memif-ping
expect_rows 6 memif-ping
# Send into a fresh queue per run, counted by requests.
smoke memif-send-memory --requests 2000 --rounds 1 --warmup 0
expect_rows 6 memif-send-memory
# Cycles: closed loop only for busbard; the echoes answer send-sized requests, open too.
smoke memif-cycle-memory
expect_rows 5 memif-cycle-memory
if ! grep -q '"op":"cycle".*"cycles_per_s":[1-9]' "$out"; then
	echo "FAIL: no cycles completed"; failures=$((failures + 1))
fi

# The peers scripts/setup.sh installs (Redis, NATS; RabbitMQ's Erlang node takes too long
# to start for a smoke): a closed and an open-loop row each, every operation acknowledged.
peer_smoke() {
	local name=$1 server=$2 mode=$3
	if command -v "$server" >/dev/null && ! "$bench" "$mode" --op ping 2>&1 |
		grep -q 'built without'; then
		smoke "$name"
		expect_rows 2 "$name"
	else
		echo "skip: $name (no $server, or busbar-bench built without its client library)"
	fi
}
peer_smoke redis-durable redis-server redis
peer_smoke nats-durable nats-server nats

# Durable sends (busbard's "durability": "disk", its log in the run's directory): every
# SendMessage answered, each after its fdatasync; testpmd beside it.
# Counted like memif-send-memory: a fast log would fill the queue within a timed second.
smoke memif-send-durable --requests 2000 --warmup 0
expect_rows 4 memif-send-durable

# Durable sends with a receive side: consumer lanes receive and delete, so a timed run never
# fills the queue (a refusal would fail --check); the deletes are counted apart.
smoke memif-send-drained-durable
expect_rows 4 memif-send-drained-durable
if ! grep -q '"system":"busbard".*"consumed_per_s":[1-9]' "$out"; then
	echo "FAIL: memif-send-drained-durable: nothing consumed"; failures=$((failures + 1))
fi

# A send scenario whose sends could fill busbard's queue is refused before anything runs:
# it would measure the full queue's OverLimit answers (with a warm-up, sends are unbounded).
"$bench" scenario "$scenarios/memif-send-durable" --warmup 1 >"$out" 2>&1
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q 'could fill busbard' "$out" || grep -q '"system"' "$out"; then
	echo "FAIL: an overfilling send scenario ran: exit $rc: $(cat "$out")"
	failures=$((failures + 1))
else
	echo "ok: an overfilling send scenario refused"
fi

# Routing: a few hundred PutEvents of a small citylots corpus through the COMBO rules, answered
# and routed (deliveries made, none failed), beside the matcher-alone row of the same events;
# then Publish to a topic with 10 filtered subscriptions, each publish delivered 10 times.
shared_bench="$source_dir/../shared/bench"
if [ -r "$shared_bench/citylots_gen.py" ]; then
	corpus_dir=$(mktemp -d /tmp/busbar-bench-corpus.XXXXXX)
	python3 "$shared_bench/citylots_gen.py" "$corpus_dir" 400 >/dev/null
	timeout 600 "$bench" scenario "$scenarios/memif-route" --no-huge --check --rounds 1 \
		--requests 200 --window 4 --fractions none --systems busbard \
		--corpus "$corpus_dir/synthetic-citylots2.jlines" \
		--rulesets "$shared_bench/citylots_rulesets.json" >"$out" 2>"$out.err"
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q '"mode":"matcher-alone"' "$out" ||
		! grep -q '"system":"busbard".*"events_per_s":[0-9]' "$out" ||
		grep -q '"fanout_failed":[1-9]' "$out" ||
		! grep -q '"fanout_deliveries":[1-9]' "$out"; then
		echo "FAIL: memif-route: exit $rc: $(cat "$out" "$out.err")"
		failures=$((failures + 1))
	else
		echo "ok: memif-route routed"
	fi
	# SNS: 100 publishes to the topic's 10 filtered subscriptions, 10 deliveries each.
	timeout 600 "$bench" scenario "$scenarios/memif-sns-fanout" --no-huge --check --rounds 1 \
		--requests 100 --window 4 --fractions none --systems busbard \
		--corpus "$corpus_dir/synthetic-citylots2.jlines" >"$out" 2>"$out.err"
	rc=$?
	rm -rf "$corpus_dir"
	if [ "$rc" -ne 0 ] || ! grep -q '"fanout_deliveries":1000,' "$out" ||
		grep -q '"fanout_failed":[1-9]' "$out"; then
		echo "FAIL: memif-sns-fanout: exit $rc: $(cat "$out" "$out.err")"
		failures=$((failures + 1))
	else
		echo "ok: memif-sns-fanout delivered 10 per publish"
	fi
else
	echo "skip: memif-route (no $shared_bench for its corpus and rules)"
fi

rm -f "$out.err"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "bench smoke: all checks passed"
