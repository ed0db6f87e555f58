#!/usr/bin/env python3
"""Signed wire requests built by hand, as a client in another language would from
docs/protocol.md ("Authentication"), for run_auth.sh. Prints the reply's status name
or "no-reply"; a reply whose MAC does not verify with the request's key (but for the
unsigned refusals of a signature, key id 0) prints "unverified-" and its status name.
Usage:
  auth_packet.py KEYFILE SERVER PORT QUEUE BODY [--skew-ms N] [--request-id N]
                 [--client-id N] [--send-twice] [--flip-bit N]
"""
import argparse, hashlib, hmac, json, socket, struct, time

STATUS = {0: "OK", 11: "InvalidClientTokenId", 12: "AccessDenied",
          18: "MissingAuthenticationToken", 19: "SignatureDoesNotMatch", 20: "RequestExpired"}
# Refusals of a request busbard could not verify: no key vouches for them, so unsigned.
UNSIGNED_REFUSALS = (11, 18, 19, 20)
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
MAC_AT, MAC_BYTES, KEY_ID_AT = 40, 16, 12


def key_id_of(access_key_id):
    value = 0
    for c in access_key_id[2:9]:
        value = value << 5 | B32.index(c)
    return value


def request(key, queue, body, skew_ms, request_id, client_id):
    fields = struct.pack("<HI", 1, len(queue)) + queue + struct.pack("<HI", 2, len(body)) + body
    ts = int(time.time() * 1000) + skew_ms
    header = struct.pack("<HBBHHIIQQQ16sQ", 0x6262, 1, 0x10, 0, 0, len(fields),
                         key_id_of(key["AccessKeyId"]), client_id, request_id, ts, b"\0" * 16, 0)
    return signed(key, header + fields)


def mac_of(key, message):
    """HMAC-SHA256 truncated, over the message with a zero MAC field."""
    zeroed = message[:MAC_AT] + b"\0" * MAC_BYTES + message[MAC_AT + MAC_BYTES:]
    return hmac.new(key["SecretAccessKey"].encode(), zeroed, hashlib.sha256).digest()[:MAC_BYTES]


def signed(key, message):
    return message[:MAC_AT] + mac_of(key, message) + message[MAC_AT + MAC_BYTES:]


def reply_verifies(key, reply, status):
    """A reply carries the request's key id and its MAC over the reply's exact bytes."""
    key_id = struct.unpack_from("<I", reply, KEY_ID_AT)[0]
    if key_id == 0:
        return status in UNSIGNED_REFUSALS
    mac = reply[MAC_AT:MAC_AT + MAC_BYTES]
    return key_id == key_id_of(key["AccessKeyId"]) and hmac.compare_digest(mac, mac_of(key, reply))


def main():
    p = argparse.ArgumentParser()
    for name in ("keyfile", "server", "port", "queue", "body"):
        p.add_argument(name)
    p.add_argument("--skew-ms", type=int, default=0)
    p.add_argument("--request-id", type=int, default=1)
    p.add_argument("--client-id", type=int, default=0x5eed)
    p.add_argument("--send-twice", action="store_true")
    p.add_argument("--flip-bit", type=int, default=-1)
    a = p.parse_args()
    key = json.load(open(a.keyfile))["Key"]
    packet = bytearray(request(key, a.queue.encode(), a.body.encode(), a.skew_ms, a.request_id,
                               a.client_id))
    if a.flip_bit >= 0:
        packet[a.flip_bit // 8] ^= 1 << (a.flip_bit % 8)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    s.connect((a.server, int(a.port)))
    answers = []
    for _ in range(2 if a.send_twice else 1):
        s.send(bytes(packet))
        try:
            reply = s.recv(65536)
            status = struct.unpack_from("<H", reply, 6)[0]
            name = STATUS.get(status, "status-%d" % status)
            answers.append(name if reply_verifies(key, reply, status) else "unverified-" + name)
        except socket.timeout:
            answers.append("no-reply")
    print(" ".join(answers))


main()
