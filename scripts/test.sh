#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs what is
# missing, builds with warnings as errors, runs every suite (unit, dataplane,
# integration, fuzz-corpus replay), then rebuilds with ASan+UBSan and the
# tiny limits of common/bb_limits.h (so capacities are reached) and runs
# everything but the integration test under them, and finally builds with
# clang (warnings as errors too) and runs the unit suite.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

build=${BUSBAR_BUILD_DIR:-build-test}
if [ ! -d "$build" ]; then
	meson setup "$build" -Dwerror=true
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2

asan=${build}-asan
if [ ! -d "$asan" ]; then
	meson setup "$asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dtiny_limits=true
fi
meson compile -C "$asan"
# The integration test runs busbard with hugepages, which ASan's shadow memory
# does not mix with; the dataplane suite covers the packet path in-process.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
	meson test -C "$asan" --print-errorlogs --suite unit --suite dataplane --suite fuzz-replay
clang_build=${build}-clang
if [ ! -d "$clang_build" ]; then
	CC=clang meson setup "$clang_build" -Dwerror=true
fi
meson compile -C "$clang_build"
meson test -C "$clang_build" --print-errorlogs --suite unit
echo "test.sh: all suites passed"
