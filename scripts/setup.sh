#!/usr/bin/env bash
# Installs what busbar needs on Debian 12 and reserves hugepages when it can.
# Idempotent: packages already present are not reinstalled; running it twice is harmless.
# Prints plainly what it could not do; the appliance then runs with --no-huge.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build clang
  dpdk dpdk-dev libdpdk-dev liburing-dev libcriterion-dev
  libsqlite3-dev libjansson-dev libmicrohttpd-dev libssl-dev libcurl4-openssl-dev
  libhugetlbfs-bin libhugetlbfs-dev iproute2 iputils-ping python3
  curl # tests/integration/run_control.sh
  openssl # tests/integration/run_sns_cert.sh (checks the SNS signing certificate)
  gnuplot-nox # perf/plot.sh
  redis-server libhiredis-dev # busbar-bench's Redis peer
  awscli python3-boto3 # tests/integration/run_aws.sh (SQS query protocol)
  wrk # tests/integration/aws/bench_http.sh (the AWS API benchmark)
  nats-server libnats-dev # busbar-bench's NATS JetStream peer (CI smoke; RabbitMQ: perf/)
  ethtool # tests/integration/run_afxdp.sh (the veth's checksum offload off)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The AWS SDK for JavaScript v3 for run_aws.sh, into tests/integration/aws/node_modules (never
# global). Node may come from Debian or from elsewhere (nodesource ships its own npm): Debian's
# nodejs and npm are installed only when there is no node at all.
if ! command -v node >/dev/null; then
  [ "$(id -u)" -eq 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends nodejs npm
fi
aws_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/aws"
if command -v npm >/dev/null; then
  npm install --prefix "$aws_dir" --no-audit --no-fund --omit=dev >/dev/null ||
    echo "setup: npm could not install $aws_dir's packages; run_aws.sh will be skipped"
else
  echo "setup: no npm; run_aws.sh will be skipped (install npm for node $(node --version 2>&1))"
fi

# Hugepages: 512 x 2 MiB (1 GiB) when the kernel gives them; otherwise say so.
hugepages_wanted="${BUSBAR_HUGEPAGES:-512}"
if [ "$(id -u)" -eq 0 ] && command -v hugeadm >/dev/null; then
  hugeadm --pool-pages-min "2MB:${hugepages_wanted}" >/dev/null 2>&1 || true
  mkdir -p /dev/hugepages
  mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
hugepages_free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${hugepages_free:-0}" -gt 0 ] && mountpoint -q /dev/hugepages; then
  echo "setup: ${hugepages_free} hugepages free on /dev/hugepages"
else
  echo "setup: no hugepages available; busbard will run with --no-huge"
fi
