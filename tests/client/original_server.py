#!/usr/bin/python3
"""A server that behaves like the ORIGINAL (Rust) chat server on the wire, for secchat-client.

Run by tests/client/test_client_original.sh as
    /usr/bin/python3 -B tests/client/original_server.py --scenario SCENARIO --dir DIR

Independent of libsecchat: RFC 6455 is Debian's python3-websockets, Noise_XXpsk2_25519_AESGCM_SHA256 (as the
responder, with the original's public demo PSK) is python3-dissononce, and the JSON is written and checked byte
for byte as serde_json writes it (serde_string below).

It listens on 127.0.0.1:0 for ONE connection. Before printing "PORT n" it writes into DIR what the driving shell
script needs, so this file is the single source of truth for the conversation:
    DIR/stdin     the bytes to type into the client at once (lines; the name first for stdin-name)
    DIR/expected  the client's exact stdout for the whole run
    DIR/last      the stdout line after which the script types "quit" (empty: the server closes instead)
Then it prints "KEY <fingerprint>", one "ok" line per check, and "original_server: N checks passed"; on a broken
expectation it prints "FAIL ..." and exits 1.

Scenarios:
    name        client run with --name Alice: prompt, name, every line, relabelled echoes, extra-field messages,
                then the client's "quit" must arrive as a close frame 1000.
    stdin-name  the same, without --name: the first line typed is the name.
    reverse     the original server ends the conversation: close 1000 after one line; the client echoes 1000.
"""
import argparse
import asyncio
import os
import sys

try:
    import websockets
    from dissononce.dh.x25519.x25519 import X25519DH
    from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory
except ImportError as exc:
    print(f"FAIL cannot import websockets/dissononce ({exc}): install python3-websockets python3-dissononce "
          "and run with /usr/bin/python3", flush=True)
    sys.exit(1)

TIMEOUT = 5.0  # seconds, for every single await
OVERALL = 20.0  # seconds, for the whole run (the shell script kills us later still)
MAX_SIZE = 2**16  # the largest Noise message
PROTOCOL = "Noise_XXpsk2_25519_AESGCM_SHA256"
DEMO_PSK = b"my_super_secret_pre_shared_key!!"  # the original's hard-coded PSK

# (what is typed, what the client must send as content). stdin cannot carry a newline; a CR before the
# newline is line-ending noise (Rust's lines() drops it too).
TYPED = [
    ("Hello, world!", "Hello, world!"),
    ('she said "hi" and \'bye\'', 'she said "hi" and \'bye\''),
    ("back\\slash, \\\\ two, and \\n is no newline", "back\\slash, \\\\ two, and \\n is no newline"),
    ("tab\there\tand\tthere", "tab\there\tand\tthere"),
    ("caf\u00e9 \u00e9t\u00e9 \u00fcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e \U0001F600 \u2603",
     "caf\u00e9 \u00e9t\u00e9 \u00fcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e \U0001F600 \u2603"),
    ("controls \x01 and \x1f, DEL \x7f", "controls \x01 and \x1f, DEL \x7f"),
    ('a/b </script> {"json":"inside"}', 'a/b </script> {"json":"inside"}'),
    ("/who is not a command to the original server", "/who is not a command to the original server"),
    ("  leading and trailing spaces  ", "  leading and trailing spaces  "),
    ("crlf ending\r", "crlf ending"),
    ("y" * 5000, "y" * 5000),
]

# Messages another writer could produce: unknown members anywhere, escapes serde would not use, reordered
# members with spaces. (raw plaintext, the line the client must print)
EXTRA = [
    (b'{"sender":"Carol","content":"extra fields after","type":"chat","room":"lobby","ts":1700000000000,'
     b'"extra":{"nested":[1,2.5,true,null,"s"]},"zzz":false}',
     "Carol: extra fields after"),
    (b'{"extra":"first","n":-1e3,"sender":"Dave","content":"unknown member first"}',
     "Dave: unknown member first"),
    (b'{ "content" : "reordered \\u00e9\\ud83d\\ude00 \\/ \\t|" , "sender" : "Erin" }',
     "Erin: reordered \u00e9\U0001F600 / \t|"),
]
LAST = ("Server", "That is all")  # the last message before the client types quit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from original_wire import fingerprint, original_json  # noqa: E402

DH = X25519DH()
FACTORY = NoiseProtocolFactory()
passed = 0


class Failure(Exception):
    pass


def check(cond, what):
    global passed
    if not cond:
        raise Failure(what)
    passed += 1
    print(f"ok    server: {what}", flush=True)








def short(b, limit=80):
    r = repr(b)
    return r if len(r) <= limit else r[:limit] + f"...({len(b)} bytes)"


async def bounded(awaitable, what):
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure(f"timeout ({TIMEOUT:g} s) waiting for {what}") from None


async def recv_binary(ws, what):
    try:
        msg = await bounded(ws.recv(), what)
    except websockets.ConnectionClosed as exc:
        raise Failure(f"connection closed (code {exc.code} {exc.reason!r}) while waiting for {what}") from None
    if not isinstance(msg, bytes):
        raise Failure(f"{what} arrived as a text message: {short(msg)}")
    return msg


class Channel:
    """The responder's side of the Noise channel over one WebSocket."""

    def __init__(self, ws, static):
        self.ws, self.static = ws, static
        self.send_cs = self.recv_cs = None

    async def handshake(self):
        proto = FACTORY.get_noise_protocol(PROTOCOL)
        hs = proto.create_handshakestate()
        hs.initialize(proto.pattern, False, b"", s=self.static, psks=[DEMO_PSK])
        m1 = await recv_binary(self.ws, "handshake message 1")
        hs.read_message(m1, bytearray())
        buf = bytearray()
        hs.write_message(b"", buf)
        await bounded(self.ws.send(bytes(buf)), "sending handshake message 2")
        m3 = await recv_binary(self.ws, "handshake message 3")
        payload = bytearray()
        # dissononce returns (initiator->responder, responder->initiator)
        self.recv_cs, self.send_cs = hs.read_message(m3, payload)
        check((len(m1), len(buf), len(m3)) == (48, 96, 64) and not payload,
              "handshake: single binary messages of 48, 96, 64 bytes, empty payloads")

    async def send(self, plaintext):
        await bounded(self.ws.send(self.send_cs.encrypt_with_ad(b"", plaintext)), "sending a message")

    async def recv(self, what):
        return self.recv_cs.decrypt_with_ad(b"", await recv_binary(self.ws, what))

    async def expect(self, want, what):
        got = await self.recv(what)
        check(got == want, f"{what}: {short(want)}" if got == want else f"{what}: got {short(got)}, want {short(want)}")


async def conversation(ch, scenario):
    ws = ch.ws
    check(ws.path == "/" and "Sec-WebSocket-Extensions" not in ws.request_headers
          and "Sec-WebSocket-Protocol" not in ws.request_headers,
          "upgrade: GET / with no extension or subprotocol asked for")
    await ch.handshake()
    await ch.send(original_json("Server", "Please enter your name:"))
    await ch.expect(b'{"sender":"","content":"Alice"}', "the name, exactly the original client's bytes")
    await ch.send(original_json("Server", "Alice joined the chat"))
    lines = TYPED[:1] if scenario == "reverse" else TYPED
    for _, content in lines:
        await ch.expect(original_json("", content), "line")
        # The original server relabels a line with its author; here "Bob" says it back.
        await ch.send(original_json("Bob", content))
    if scenario == "reverse":
        await bounded(ws.close(1000), "the close handshake we started")
        check(ws.close_code == 1000, f"reverse close: our 1000 was answered with {ws.close_code} (want 1000)")
        return
    for raw, _ in EXTRA:
        await ch.send(raw)
    await ch.send(original_json(*LAST))
    # The client prints everything, then the script types quit: a close frame 1000 and nothing before it.
    try:
        extra = await bounded(ws.recv(), "the client's close after quit")
        raise Failure(f"a {len(extra)}-byte message arrived instead of the close")
    except websockets.ConnectionClosed:
        pass
    check(ws.close_code == 1000, f"quit: the client closed with code {ws.close_code} (want 1000)")


def write_script(d, scenario, port, fp):
    """DIR/stdin, DIR/expected, DIR/last for the shell script."""
    lines = TYPED[:1] if scenario == "reverse" else TYPED
    typed = ("Alice\n" if scenario == "stdin-name" else "") + "".join(t + "\n" for t, _ in lines)
    out = [f"Connecting to server at: ws://127.0.0.1:{port}", "Connected to server", "Starting Noise handshake...",
           "Secure channel established", f"Server key fingerprint: {fp}", "Server: Please enter your name:",
           "Server: Alice joined the chat"]
    out += [f"Bob: {c}" for _, c in lines]
    if scenario == "reverse":
        out.append("Disconnected (1000)")
        last = ""
    else:
        out += [text for _, text in EXTRA]
        last = f"{LAST[0]}: {LAST[1]}"
        out += [last, "Disconnecting...", "Disconnected"]
    for name, text in (("stdin", typed), ("expected", "".join(o + "\n" for o in out)), ("last", last)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(text.encode("utf-8"))


async def run(scenario, d):
    loop = asyncio.get_running_loop()
    accepted = loop.create_future()
    finished = loop.create_future()

    async def handler(ws):
        if accepted.done():  # one client per run; a second one is a test error
            await ws.close(1013, "one connection only")
            return
        accepted.set_result(ws)
        await finished  # returning would close the connection

    static = DH.generate_keypair()
    async with websockets.serve(handler, "127.0.0.1", 0, compression=None, max_size=MAX_SIZE, ping_interval=None,
                                close_timeout=TIMEOUT) as server:
        port = server.sockets[0].getsockname()[1]
        fp = fingerprint(static.public.data)
        write_script(d, scenario, port, fp)
        print(f"PORT {port}", flush=True)
        print(f"KEY {fp}", flush=True)
        try:
            ws = await bounded(accepted, "the client to connect")
            await conversation(Channel(ws, static), scenario)
        finally:
            if not finished.done():
                finished.set_result(None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", choices=("name", "stdin-name", "reverse"), required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(a.scenario, a.dir), OVERALL))
    except asyncio.TimeoutError:
        print(f"FAIL the run took over {OVERALL:g} s", flush=True)
        return 1
    except Failure as exc:
        print(f"FAIL server: {exc}", flush=True)
        return 1
    except Exception as exc:  # DecryptFailedException, ConnectionClosed, ...: all failures
        print(f"FAIL server: {type(exc).__name__}: {exc}", flush=True)
        return 1
    print(f"original_server: {passed} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
