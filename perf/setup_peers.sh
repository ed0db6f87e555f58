#!/usr/bin/env bash
# Installs the peers busbar-bench compares busbar with, from Debian: RabbitMQ (server and
# librabbitmq, the C client) and NATS (nats-server with JetStream, and libnats). CI does not
# run these peers, so scripts/setup.sh leaves them out; perf/run_scenarios.sh calls this
# before it runs a scenario. Idempotent: installs only what is missing. The packages'
# services are not what the benchmark uses: the scenario runner starts each server itself
# in its run's directory and stops it by PID, so a system service left running (on a
# machine with an init that starts it) is stopped and disabled here to free its ports.
# After installing, rebuild busbar-bench (meson finds the client libraries).
set -euo pipefail

packages=(
  rabbitmq-server librabbitmq-dev # the RabbitMQ quorum-queue peer
  nats-server libnats-dev         # the NATS JetStream peer
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup_peers: need root to install ${missing[*]}" >&2
  exit 1
fi
echo "setup_peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Another install may hold the dpkg lock (a shared machine): wait for it rather than fail.
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for service in rabbitmq-server nats-server; do
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  done
fi
echo "setup_peers: installed; rebuild busbar-bench to build the RabbitMQ and NATS drivers"
