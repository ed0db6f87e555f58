#!/usr/bin/env bash
# SNS signing between the processes (issue 14; docs/sns.md, "Signatures"): busbar-control
# answers GET /sns-signing.pem with 503 until busbard has made its key; busbard's first start
# makes <state_dir>/sns-signing.key (0600) and sns-signing.pem, which busbar-control then
# serves byte for byte; the certificate holds the key's public key and a signature made with
# the key verifies with the served certificate (openssl); the key's text is in no log; a
# second start keeps the same key and certificate; a damaged key stops busbard at start with
# a message naming the file, within a bounded wait. Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v openssl >/dev/null || { echo "skip: no openssl command (scripts/setup.sh)"; exit 77; }

url=http://127.0.0.1:7680/sns-signing.pem
key="$work/state/sns-signing.key"
cert="$work/state/sns-signing.pem"

http_code() { in_ns curl -s -o "$work/served.pem" -w '%{http_code}' --max-time 5 "$url"; }

stop_busbard() {
	kill "$busbard_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$busbard_pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$busbard_pid" 2>/dev/null
	wait "$busbard_pid" 2>/dev/null
	rm -f "$socket"
}

ns_setup
start_control "$work/control.db" --sns-signing-cert "$cert"
code=$(http_code)
[ "$code" = 503 ] && echo "ok: 503 before busbard made it" || fail "before busbard: HTTP $code"

start_busbard
[ -f "$key" ] && [ -f "$cert" ] || fail "busbard made no key or certificate in $work/state"
mode=$(stat -c %a "$key")
[ "$mode" = 600 ] && echo "ok: key mode 600" || fail "key mode $mode"
code=$(http_code)
if [ "$code" = 200 ] && cmp -s "$work/served.pem" "$cert"; then
	echo "ok: busbar-control serves busbard's certificate"
else
	fail "GET $url: HTTP $code, or not the file busbard made"
fi

# The served certificate's key is the signing key: a signature by the key verifies with it.
printf 'Message\nhello\nType\nNotification\n' >"$work/text"
openssl dgst -sha256 -sign "$key" -out "$work/sig" "$work/text" || fail "openssl dgst -sign"
openssl x509 -in "$work/served.pem" -pubkey -noout >"$work/pub.pem" || fail "openssl x509"
if openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/sig" "$work/text" >/dev/null
then echo "ok: the served certificate holds the signing key"
else fail "the served certificate does not verify the key's signature"; fi

body=$(sed -n 2p "$key")
if grep -qF -- "$body" "$work/busbard.log" "$work/control.log"; then
	fail "the signing key's text is in a log"
else
	echo "ok: the key is in no log"
fi

cp "$key" "$work/key.first"
cp "$cert" "$work/cert.first"
stop_busbard
start_busbard
served=$(grep -c '^busbard: serving' "$work/busbard.log")
if [ "$served" -eq 2 ] && cmp -s "$key" "$work/key.first" && cmp -s "$cert" "$work/cert.first"
then
	echo "ok: a second start keeps the key and certificate"
else
	fail "a second start did not serve ($served starts served) or changed the files"
fi
stop_busbard

# A key cut in half: busbard must refuse to start and say which file.
head -c 600 "$work/key.first" >"$key"
launch_busbard
for _ in $(seq 600); do kill -0 "$busbard_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$busbard_pid" 2>/dev/null; then
	fail "busbard still runs with a damaged key"
	stop_busbard
else
	wait "$busbard_pid"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q 'sns-signing.key is not an RSA private key' "$work/busbard.log"
	then echo "ok: a damaged key stops busbard at start (exit $rc)"
	else fail "damaged key: exit $rc, no message naming the key"; fi
fi
busbard_pid=""

ns_finish sns_cert
