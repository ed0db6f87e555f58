#!/usr/bin/env bash
# SNS http/https subscriptions' SubscriptionConfirmation handshake (issue 14; docs/sns.md,
# "HTTP and HTTPS subscriptions") on the real stack in a network namespace: busbard (which
# makes the signing key) and busbar-control with signatures checked, subscribers served by
# this test on the namespace's loopback (tests/integration/sns_endpoint.py records each POST).
#   - Subscribe of an http endpoint: a SubscriptionConfirmation POST arrives with SNS's headers
#     and JSON, signed (SignatureVersion 1, SHA1withRSA) so that openssl verifies it with the
#     certificate busbar-control serves at SigningCertURL; an unsigned GET of its SubscribeURL
#     confirms (ListSubscriptionsByTopic then shows the ARN, no longer PendingConfirmation).
#   - A topic with SignatureVersion 2: the confirmation verifies with SHA-256.
#   - https with a self-signed certificate this test makes, trusted through busbar-control's
#     --sns-https-ca-file: the confirmation arrives; confirm-subscription with its token works.
#     An https endpoint whose certificate is not in that file gets nothing (verification on).
#   - An endpoint answering 500 gets the same message again (same MessageId and bytes).
#   - An endpoint that accepts and never answers does not hold the API: calls answer meanwhile.
# Every process is bounded and stopped by PID. Exits 77 without openssl (scripts/setup.sh).
# At most 4 subscriptions a topic, so it passes with -Dtiny_limits=true too.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
command -v openssl >/dev/null || { echo "skip: no openssl command (scripts/setup.sh)"; exit 77; }
source "$here/lib.sh"

CONTROL_AUTH_ARGS="" # signatures checked: the SubscribeURL's GET must pass unsigned
endpoint_pids=""
records="$work/posts.jsonl"
cert="$work/state/sns-signing.pem"

stop_endpoints() { for pid in $endpoint_pids; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; }
trap 'stop_endpoints; cleanup' EXIT

# A self-signed certificate for 127.0.0.1 (the trusted one, and one nobody trusts).
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1" -keyout "$work/$1.key" -out "$work/$1.pem" \
		2>/dev/null || fail "openssl req $1"
}

start_endpoint() { # PORT [CERT_NAME]
	local tls=()
	[ $# -gt 1 ] && tls=("$work/$2.pem" "$work/$2.key")
	ip netns exec "$ns" timeout "$run_seconds" python3 "$here/sns_endpoint.py" "$1" "$records" \
		"${tls[@]}" >>"$work/endpoint.log" 2>&1 &
	endpoint_pids="$endpoint_pids $!"
}

bb() { in_ns timeout 30 "$build/client/busbar" --endpoint http://127.0.0.1:7680 \
	--key-file "$work/admin.json" --timeout-ms 5000 "$@"; }

# posts_to PATH_PREFIX: how many POSTs reached paths starting with it (sns_endpoint.py writes
# each line whole, "path" first).
posts_to() {
	local n
	n=$(grep -c -- "^{\"path\": \"$1" "$records" 2>/dev/null)
	echo "${n:-0}"
}

wait_posts() { # PATH_PREFIX COUNT SECONDS
	local end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -lt "$end" ]; do
		[ "$(posts_to "$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

wait_listening() { # PORT...
	local port end=$(($(date +%s) + 30))
	for port in "$@"; do
		until in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; do
			[ "$(date +%s)" -lt "$end" ] || { fail "nothing listens on $port"; break; }
			sleep 0.2
		done
	done
}

# check_confirmation PATH VERSION: the first POST to PATH is a SubscriptionConfirmation with
# SNS's headers and fields whose signature verifies with the served certificate; prints
# "TOKEN SUBSCRIBE_URL".
check_confirmation() {
	python3 - "$records" "$1" "$2" "$work" <<'PY'
import base64, json, sys
records, path, version, work = sys.argv[1:5]
post = next(json.loads(l) for l in open(records) if json.loads(l)["path"] == path)
h, m = post["headers"], json.loads(post["body"])
want = {"x-amz-sns-message-type": "SubscriptionConfirmation",
        "x-amz-sns-message-id": m["MessageId"], "x-amz-sns-topic-arn": m["TopicArn"],
        "content-type": "text/plain; charset=UTF-8",
        "user-agent": "Amazon Simple Notification Service Agent"}
for k, v in want.items():
    assert h.get(k) == v, f"header {k}: {h.get(k)!r}, wanted {v!r}"
assert list(m) == ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL",
                   "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"], list(m)
assert m["Type"] == "SubscriptionConfirmation" and m["SignatureVersion"] == version
assert m["SigningCertURL"] == "http://127.0.0.1:7680/sns-signing.pem"
assert m["SubscribeURL"].startswith("http://127.0.0.1:7680/?Action=ConfirmSubscription&TopicArn=")
text = "".join(f"{k}\n{m[k]}\n" for k in
               ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"])
open(f"{work}/signed.txt", "w").write(text)
open(f"{work}/signature.bin", "wb").write(base64.b64decode(m["Signature"]))
print(m["Token"], m["SubscribeURL"])
PY
}

verify_signature() { # DIGEST
	curl -s --max-time 5 -o "$work/served.pem" http://127.0.0.1:7680/sns-signing.pem 2>/dev/null ||
		in_ns curl -s --max-time 5 -o "$work/served.pem" http://127.0.0.1:7680/sns-signing.pem
	openssl x509 -in "$work/served.pem" -pubkey -noout >"$work/pub.pem" &&
		openssl dgst "-$1" -verify "$work/pub.pem" -signature "$work/signature.bin" \
			"$work/signed.txt" >/dev/null 2>&1
}

listed_arn() { # TOPIC ENDPOINT: the SubscriptionArn ListSubscriptionsByTopic shows for it
	bb list-subscriptions --topic "$1" | python3 -c 'import json,sys
for s in json.load(sys.stdin)["Subscriptions"]:
    if s["Endpoint"] == sys.argv[1]: print(s["SubscriptionArn"])' "$2"
}

ns_setup
make_cert trusted
make_cert untrusted
start_busbard
start_control "$work/control.db" --sns-signing-cert "$cert" --sns-https-ca-file "$work/trusted.pem"
create_key "$work/admin.json" '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
start_endpoint 8081
start_endpoint 8443 trusted
start_endpoint 8444 untrusted
# An endpoint that takes the connection and never answers (the kernel's backlog accepts it).
ip netns exec "$ns" timeout "$run_seconds" python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 8090)); s.listen(8); time.sleep(3600)' &
endpoint_pids="$endpoint_pids $!"
wait_listening 8081 8443 8444 8090

expect 0 TopicArn -- bb create-topic plain
expect 0 TopicArn -- bb create-topic sha256 SignatureVersion=2

# --- http: the confirmation arrives, signed; a GET of its SubscribeURL confirms.
expect 0 SubscriptionArn -- bb subscribe plain http http://127.0.0.1:8081/plain
if wait_posts /plain 1 20 && read -r token url < <(check_confirmation /plain 1); then
	echo "ok: SubscriptionConfirmation with SNS's headers and fields"
	verify_signature sha1 && echo "ok: its SHA1withRSA signature verifies with SigningCertURL's" \
		|| fail "the confirmation's signature does not verify (version 1)"
	[ "$(listed_arn plain http://127.0.0.1:8081/plain)" = PendingConfirmation ] ||
		fail "the subscription is not pending before the GET"
	code=$(in_ns curl -s -o "$work/confirm.xml" -w '%{http_code}' --max-time 10 "$url")
	if [ "$code" = 200 ] && grep -q "<SubscriptionArn>arn:aws:sns:local:000000000000:plain:" \
		"$work/confirm.xml"; then
		echo "ok: an unsigned GET of the SubscribeURL confirms"
	else
		fail "GET SubscribeURL: HTTP $code $(cat "$work/confirm.xml")"
	fi
	arn=$(listed_arn plain http://127.0.0.1:8081/plain)
	[[ "$arn" == arn:aws:sns:local:000000000000:plain:* ]] &&
		echo "ok: listed as confirmed ($arn)" || fail "after the GET the subscription is listed as $arn"
else
	fail "no SubscriptionConfirmation reached http://127.0.0.1:8081/plain"
fi
# A GET with a wrong token confirms nothing and is answered as SNS does.
code=$(in_ns curl -s -o "$work/bad.xml" -w '%{http_code}' --max-time 10 \
	"http://127.0.0.1:7680/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:local:000000000000:plain&Token=$(printf '0%.0s' $(seq 64))")
[ "$code" = 400 ] && grep -q InvalidParameter "$work/bad.xml" && echo "ok: a wrong token is InvalidParameter" ||
	fail "a wrong token: HTTP $code $(cat "$work/bad.xml")"

# --- SignatureVersion 2: SHA256withRSA.
expect 0 SubscriptionArn -- bb subscribe sha256 http http://127.0.0.1:8081/sha256
if wait_posts /sha256 1 20 && check_confirmation /sha256 2 >/dev/null; then
	verify_signature sha256 && echo "ok: version 2 verifies with SHA-256" ||
		fail "the confirmation's signature does not verify (version 2)"
else
	fail "no SubscriptionConfirmation (version 2)"
fi

# --- https: trusted through --sns-https-ca-file; confirm-subscription with the token.
expect 0 SubscriptionArn -- bb subscribe plain https https://127.0.0.1:8443/tls
if wait_posts /tls 1 20 && read -r token url < <(check_confirmation /tls 1); then
	echo "ok: the https endpoint got its confirmation"
	expect 0 "arn:aws:sns:local:000000000000:plain:" -- bb confirm-subscription plain "$token"
else
	fail "no SubscriptionConfirmation reached https://127.0.0.1:8443/tls"
fi
expect 0 SubscriptionArn -- bb subscribe plain https https://127.0.0.1:8444/untrusted
sleep 3
[ "$(posts_to /untrusted)" = 0 ] && grep -q "SubscriptionConfirmation to https://127.0.0.1:8444/untrusted" \
	"$work/control.log" && echo "ok: an endpoint whose certificate is not trusted gets nothing" ||
	fail "an untrusted https endpoint: $(posts_to /untrusted) POSTs"

# --- an endpoint answering 500 gets the same message again.
expect 0 SubscriptionArn -- bb subscribe plain http http://127.0.0.1:8081/fail
if wait_posts /fail 2 20; then
	python3 - "$records" <<'PY' && echo "ok: resent after a 500, the same message" || fail "the resend differs"
import json, sys
bodies = [json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/fail"]
assert bodies[0] == bodies[1], "not the same bytes"
PY
else
	fail "an endpoint answering 500 got $(posts_to /fail) POST(s), not a resend"
fi

# --- an endpoint that never answers does not hold the API.
expect 0 SubscriptionArn -- bb subscribe sha256 http http://127.0.0.1:8090/hang
sleep 1
start=$(date +%s)
expect 0 TopicArn -- bb list-topics
[ $(($(date +%s) - start)) -lt 10 ] && echo "ok: the API answers while an endpoint hangs" ||
	fail "the API waited for the hanging endpoint"

ns_finish sns_http
