#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<name>/.

    python3 tests/fuzz/gen_corpus.py

Each seed is a small meaningful input in the format the target's header
comment describes (valid cases, and the usual ways to get each format
wrong). The output is deterministic, so re-running it changes nothing
unless this script changed. Standard library only.
"""
import base64
import hashlib
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

corpus = {}


def add(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    corpus.setdefault(target, {})[name] = data


# ---- HTTP -------------------------------------------------------------------

def request(lines, path="/chat"):
    head = ["GET %s HTTP/1.1" % path] + lines
    return ("\r\n".join(head) + "\r\n\r\n").encode()


GOOD = ["Host: chat.example:8080", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]


def frame(opcode, payload=b"", fin=True, mask=None, rsv=0, length=None):
    """One frame; length forces an encoding (126 or 127) for short payloads."""
    b0 = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if length == 127 or n > 0xFFFF:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    elif length == 126 or n > 125:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | n])
    if mask:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload


MASK = b"\x37\xfa\x21\x3d"

seed0 = b"\x00\x00"
split = b"\x12\x35"  # odd: also ends with an end of file
add("http_request", "valid", seed0 + request(GOOD))
add("http_request", "valid-split-eof", split + request(GOOD))
add("http_request", "valid-lowercase-extra", b"\x77\x10" + request(
    ["host: [::1]:8080", "upgrade: WebSocket", "connection: keep-alive, Upgrade", "origin: http://x",
     "sec-websocket-protocol: chat", "sec-websocket-extensions: permessage-deflate",
     "sec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==", "sec-websocket-version: 13"], "/chat?room=a&x=%20"))
add("http_request", "pipelined-frame", b"\x01\x00" + request(GOOD) + frame(2, b"hello", mask=MASK) +
    frame(9, b"p", mask=MASK))
add("http_request", "version-8", seed0 + request(GOOD[:4] + ["Sec-WebSocket-Version: 8"]))
add("http_request", "no-key", seed0 + request(GOOD[:3] + GOOD[4:]))
add("http_request", "short-key", seed0 + request(GOOD[:3] + ["Sec-WebSocket-Key: dGhl", GOOD[4]]))
add("http_request", "post", seed0 + request(GOOD).replace(b"GET", b"POST", 1))
add("http_request", "folding", seed0 + request(GOOD[:1] + [" folded"] + GOOD[1:]))
add("http_request", "two-hosts", seed0 + request(GOOD + ["Host: other"]))
add("http_request", "lf-only", seed0 + request(GOOD).replace(b"\r\n", b"\n"))
add("http_request", "http10", seed0 + request(GOOD).replace(b"HTTP/1.1", b"HTTP/1.0"))

ACCEPT_LINE = "Sec-WebSocket-Accept: @ACCEPT@"


def response(lines, status="101 Switching Protocols"):
    return ("\r\n".join(["HTTP/1.1 " + status] + lines) + "\r\n\r\n").encode()


RGOOD = ["Upgrade: websocket", "Connection: Upgrade", ACCEPT_LINE]
add("http_response", "valid", seed0 + response(RGOOD))
add("http_response", "valid-split-eof", split + response(RGOOD))
add("http_response", "valid-frames", b"\x02\x00" + response(RGOOD) + frame(2, b"hi") + frame(9, b"x") +
    frame(8, struct.pack(">H", 1000) + b"bye"))
add("http_response", "lowercase", seed0 + response(["upgrade: WEBSOCKET", "connection: upgrade",
                                                    "sec-websocket-accept:@ACCEPT@", "Server: x"]))
add("http_response", "refused-400", seed0 + response(["Content-Length: 0", "Connection: close"], "400 Bad Request"))
add("http_response", "no-accept", seed0 + response(RGOOD[:2]))
add("http_response", "wrong-accept", seed0 + response(RGOOD[:2] + ["Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]))
add("http_response", "extension", seed0 + response(RGOOD + ["Sec-WebSocket-Extensions: permessage-deflate"]))
add("http_response", "protocol", seed0 + response(RGOOD + ["Sec-WebSocket-Protocol: chat"]))

# ---- WebSocket frames ---------------------------------------------------------
# byte 0 mode (bit 7: actions; bits 0-2 max_message; bits 3-4 max_output), bytes 1-2 split seed.


def frames_seeds(target, mask):
    def f(op, payload=b"", **kw):
        return frame(op, payload, mask=mask, **kw)
    close = struct.pack(">H", 1000) + b"done"
    streams = {
        "binary": f(2, b"hello"),
        "fragmented-with-ping": f(2, b"hel", fin=False) + f(9, b"ping") + f(0, b"lo", fin=False) + f(0, b"!"),
        "ping-pong-close": f(9, b"12345678") + f(10, b"\0\0\0\0\0\0\0\1") + f(8, close),
        "close-1-byte": f(8, b"\x03"),
        "close-bad-code": f(8, struct.pack(">H", 999)),
        "close-bad-utf8": f(8, struct.pack(">H", 1000) + b"\xc3\x28"),
        "text": f(1, b"text"),
        "len126": f(2, bytes(range(200))),
        "len127": f(2, b"abc", length=127),
        "rsv": f(2, b"x", rsv=4),
        "continuation-first": f(0, b"x"),
        "control-fragmented": f(9, b"x", fin=False),
        "unknown-opcode": f(3, b"x"),
        "after-close": f(8, close) + f(2, b"late"),
    }
    # The other role's masking is always wrong: one seed each for the refusal.
    streams["wrong-masking"] = frame(2, b"x", mask=None if mask else MASK)
    for name, s in sorted(streams.items()):
        add(target, name, b"\x00\x00\x00" + s)
    add(target, "binary-split-small-limit", b"\x03\x45\x67" + streams["fragmented-with-ping"])
    add(target, "len126-limit-125", b"\x03\x00\x00" + streams["len126"])
    add(target, "actions", b"\x80\x12\x34" + streams["fragmented-with-ping"] + streams["ping-pong-close"])
    add(target, "actions-output-limit", b"\x99\x43\x21" + streams["binary"] * 6)


frames_seeds("ws_server_frames", MASK)
frames_seeds("ws_client_frames", None)

# ---- Noise --------------------------------------------------------------------
# byte 0 flags, then steps: ctl, 24-bit length, bytes (see noise_driver.h).


def step(ctl, data=b""):
    return bytes([ctl]) + len(data).to_bytes(3, "big") + data


transport = step(1, b"hello") + step(2, b"x" * 20) + step(3, b"back") + step(0, bytes(20)) + step(0x0d, b"rk") + \
    step(1, b"after rekey")
for flags, name in [(0x00, "honest"), (0x01, "honest-chachapoly"), (0x02, "honest-pinned"),
                    (0x48, "honest-prologue-fixed-eph")]:
    add("noise_responder", name, bytes([flags]) + step(1) + step(0, b"resp") + step(1, b"m3") + transport)
    add("noise_initiator", name, bytes([flags]) + step(0, b"m1") + step(1, b"m2") + step(0, b"m3") + transport)
for flags, name in [(0x04, "wrong-pin"), (0x18, "wrong-prologue"), (0x20, "wrong-psk")]:
    add("noise_responder", name, bytes([flags]) + step(1) + step(0) + step(1))
    add("noise_initiator", name, bytes([flags]) + step(0) + step(1) + step(0))
add("noise_responder", "raw-msg1", b"\x00" + step(0, bytes(48)))
add("noise_responder", "damaged-msg3", b"\x00" + step(1) + step(0) + step(2, b"\x01"))
add("noise_responder", "truncated-msg3", b"\x00" + step(1) + step(0) + step(3, bytes(40)))
add("noise_responder", "small-buffers", b"\x00" + step(0x41, b"p" * 200) + step(0x40, b"q" * 10) + step(0x41))
add("noise_responder", "too-large", b"\x00" + bytes([0x00, 0x01, 0x00, 0x00]))  # 65536 bytes
add("noise_initiator", "raw-msg2", b"\x00" + step(0) + step(0, bytes(96)))
add("noise_initiator", "damaged-msg2", b"\x00" + step(0) + step(0x22, b"\x80"))
add("noise_initiator", "extended-msg2", b"\x00" + step(0) + step(3, bytes(120)))
add("noise_initiator", "small-buffers", b"\x00" + step(0x40, b"m" * 300) + step(0x41, b"n" * 200))

# ---- session ------------------------------------------------------------------
# byte 0 split seed, then steps: ctl, 24-bit length, bytes (see fuzz_session_transport.c).


def chat(content, sender=""):
    return ('{"sender":%s,"content":%s}' % (json_str(sender), json_str(content))).encode()


def json_str(s):
    import json
    return json.dumps(s, ensure_ascii=False)


session = [
    ("name-and-commands", 0, [step(1, chat("alice")), step(1, chat("hello all")), step(2, chat("/join Room1 ")),
                              step(3, chat("/msg bob hi there")), step(1, chat("/me waves")),
                              step(1, chat("//not a command")), step(1, chat("/help")), step(1, chat("/WHO"))]),
    ("bad-names", 7, [step(1, chat("")), step(1, chat("Server")), step(1, chat("a b")),
                      step(1, chat("x" * 40)), step(1, chat("bob\u00a0")), step(1, chat("bob"))]),
    ("full-message", 0, [step(1, chat("carol")), step(1, b'{"sender":"x","content":"/msg dave yo","type":"chat",'
                                                        b'"room":"lobby","to":null,"ts":1700000000000}')]),
    ("not-json", 3, [step(1, b"hello"), step(1, b'{"content":1}')]),
    ("server-send-trim-ping", 0, [step(5, b"from server"), step(6), step(1, chat("eve")), step(6)]),
    ("raw-frame", 0, [step(4 | 0x20, b"\x00" * 24)]),
    ("raw-bytes", 0, [step(0, b"\x82\x85" + MASK + b"abcde")]),
    ("close", 0, [step(1, chat("frank")), step(7)]),
    ("eof", 9, [step(7 | 0x10)]),
]
for name, seed, steps in session:
    add("session_transport", name, bytes([seed]) + b"".join(steps))

# ---- messages -----------------------------------------------------------------

messages = {
    "part1": '{"sender":"Alice","content":"Hello"}',
    "full": '{"sender":"Alice","content":"Hello","type":"chat","room":"lobby","to":"Bob","ts":1700000000000}',
    "escapes": '{"content":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u001f"}',
    "utf8": '{"sender":"Zoë","content":"日本語 🙂"}',
    "nulls": '{"content":"x","sender":null,"type":null,"room":null,"to":null,"ts":null}',
    "ts-negative": '{"content":"x","ts":-9223372036854775808}',
    "ts-big": '{"content":"x","ts":9223372036854775808}',
    "ts-float": '{"content":"x","ts":1.5}',
    "unknown-members": '{"x":[1,{"y":true}],"content":"c","z":-0.5e3}',
    "duplicate": '{"content":"a","content":"b"}',
    "nul-escape": '{"content":"a\\u0000b"}',
    "whitespace": ' \n\t{ "content" : "spaced" , "ts" : 0 } \r\n',
    "no-content": '{"sender":"a"}',
    "wrong-type": '{"content":"a","room":5}',
    "array": '["content"]',
    "trailing": '{"content":"a"}x',
    "lone-surrogate": '{"content":"\\ud800"}',
    "empty-object": '{}',
}
for name, text in messages.items():
    add("message_decode", name, text)
add("message_decode", "invalid-utf8", b'{"content":"\xc3\x28"}')
add("message_decode", "raw-nul", b'{"content":"a","ts":1\x00}')

# ---- keys -----------------------------------------------------------------------

KEY = bytes(range(32))
B64 = base64.b64encode(KEY).decode()
add("keyfile", "psk", "secchat-psk-v1\n%s\n" % B64)
add("keyfile", "private-crlf", "secchat-x25519-private-v1\r\n%s\r\n" % B64)
add("keyfile", "public-no-newline", "secchat-x25519-public-v1\n%s" % B64)
add("keyfile", "trailing-line", "secchat-psk-v1\n%s\nmore\n" % B64)
add("keyfile", "bad-header", "secchat-psk-v2\n%s\n" % B64)
add("keyfile", "short-key", "secchat-psk-v1\n%s\n" % B64[:40])
add("keyfile", "noncanonical", "secchat-psk-v1\n%s\n" % (B64[:42] + "B="))
add("keyfile", "bare-base64", B64)

OTHER = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
add("known_servers", "ok", "127.0.0.1:8080\n# known\n\n127.0.0.1:8080 %s\n" % B64)
add("known_servers", "changed", "chat.example:80\nchat.example:80 %s\r\n127.0.0.1:8080 %s\n" % (OTHER, B64))
add("known_servers", "unknown", "[::1]:8080\nlocalhost:8080\t%s\n" % B64)
add("known_servers", "malformed", "a:1\na:1 %s extra\n" % B64)
add("known_servers", "bad-server", "#x\na:1 %s\n" % B64)
add("authorized_keys", "two", "# allow\n%s alice\n\n  %s\n" % (B64, OTHER))
add("authorized_keys", "duplicate", "%s a\n%s b\n" % (B64, B64))
add("authorized_keys", "bad-name", "%s bad\x01name\n" % B64)
add("authorized_keys", "c1-name", "%s x\x85y\n" % B64)
add("authorized_keys", "three-fields", "%s a b\n" % B64)
add("authorized_keys", "crlf-tabs", "\t%s\tbob\r\n" % OTHER)


def main():
    for target, seeds in sorted(corpus.items()):
        d = os.path.join(OUT, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as fh:
                fh.write(data)
        print("%-20s %3d seeds, %5d bytes" % (target, len(seeds), sum(len(v) for v in seeds.values())))


if __name__ == "__main__":
    main()
