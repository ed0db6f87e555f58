#!/usr/bin/env python3
"""Signed wire requests built by hand, as a client in another language would from
docs/protocol.md ("Authentication"), for run_auth.sh. Prints the reply's status name
or "no-reply". Usage:
  auth_packet.py KEYFILE SERVER PORT QUEUE BODY [--skew-ms N] [--request-id N]
                 [--client-id N] [--send-twice] [--flip-bit N]
"""
import argparse, hashlib, hmac, json, socket, struct, time

STATUS = {0: "OK", 11: "InvalidClientTokenId", 12: "AccessDenied",
          18: "MissingAuthenticationToken", 19: "SignatureDoesNotMatch", 20: "RequestExpired"}
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


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
    mac = hmac.new(key["SecretAccessKey"].encode(), header + fields, hashlib.sha256).digest()[:16]
    return header[:40] + mac + header[56:] + fields


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
            answers.append(STATUS.get(status, "status-%d" % status))
        except socket.timeout:
            answers.append("no-reply")
    print(" ".join(answers))


main()
