#!/usr/bin/python3
"""End-to-end interoperability of the secure session with the original program's wire behaviour.

Run by tests/chat/test_interop_original.sh as
    /usr/bin/python3 -B tests/chat/interop_original.py BUILD/tests/chat/session_peer

This script plays the original (Rust) chat program at protocol level with two
independent implementations of the lower layers at once: Debian's
python3-websockets 10.4 for RFC 6455 and python3-dissononce for
Noise_XXpsk2_25519_AESGCM_SHA256. The JSON it sends and expects is built with
serde_string() below, which escapes exactly as serde_json does (json.dumps
differs: it escapes non-ASCII and DEL as \\uXXXX and writes ", " and ": ").

(a) original client -> session_peer server: handshake message sizes 48/96/64,
    the name prompt, "Alice joined the chat", relabelled echoes of tricky
    lines byte for byte, both static keys and the handshake hash, close 1000.
(b) original server <- session_peer client: the prompt, the client's name as
    exact bytes, a message with unknown members, a raw plaintext, close 1000.
(c) negatives: wrong PSK on either side, a tampered and a replayed transport
    message: the C side reports SECCHAT_ERR_SESSION_* and closes with 1008.
(d) (a) with Noise_XXpsk2_25519_ChaChaPoly_SHA256, and (a) over ::1.

Every await is bounded; session_peer processes are killed at the end. One
"ok" line per check, then "interop original: N checks passed"; exit status 1
on any failure.
"""
import asyncio
import os
import re
import socket
import sys

try:
    import websockets
    from dissononce.dh.x25519.x25519 import X25519DH
    from dissononce.exceptions.decrypt import DecryptFailedException
    from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory
except ImportError as exc:  # reported by test_interop_original.sh too
    print(f"FAIL cannot import websockets/dissononce ({exc}): install python3-websockets python3-dissononce "
          "and run with /usr/bin/python3")
    sys.exit(1)

TIMEOUT = 5.0  # seconds, for every single await
OVERALL = 30.0  # seconds, for the whole run
MAX_SIZE = 2**16  # the largest Noise message is 65535 bytes
DEFAULT_PROTOCOL = "Noise_XXpsk2_25519_AESGCM_SHA256"
CHACHA_PROTOCOL = "Noise_XXpsk2_25519_ChaChaPoly_SHA256"

# include/secchat/common.h
ERR_SESSION_HANDSHAKE = -402
ERR_SESSION_DECRYPT = -403

PROMPT = b'{"sender":"Server","content":"Please enter your name:"}'

# Lines the original client could send, with every escaping rule of serde_json exercised.
TRICKY_LINES = [
    "Hello, world!",
    'she said "hi"',
    "back\\slash and \\\\ two",
    "line1\nline2\r\n",
    "tab\there",
    "\x01 start of heading, \x1f unit separator, \x08 backspace, \x0c form feed",
    "caf\u00e9 \u00e9t\u00e9",
    "emoji \U0001F600 and \u2603",
    "a/b </script> http://x/y",
    "DEL \x7f stays raw",
    "",
    "x" * 2000,
]

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from original_wire import original_json  # noqa: E402

DH = X25519DH()
FACTORY = NoiseProtocolFactory()
passed = 0


class Failure(Exception):
    pass


def check(cond, what):
    """Counts and prints one check, or fails the run with what."""
    global passed
    if not cond:
        raise Failure(what)
    passed += 1
    print(f"ok {passed:2d} {what}", flush=True)






def unescape_peer(text):
    """Undoes session_peer's \\xNN escaping of MSG fields."""
    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("ascii")).decode("utf-8")


def parse_msg(line):
    m = re.fullmatch(r"MSG sender=(.*?) content=(.*)", line)
    if not m:
        raise Failure(f"expected a MSG line, got {line[:100]!r}")
    return unescape_peer(m.group(1)), unescape_peer(m.group(2))


def handshake_state(protocol, initiator, psk, static):
    proto = FACTORY.get_noise_protocol(protocol)
    hs = proto.create_handshakestate()
    hs.initialize(proto.pattern, initiator, b"", s=static, psks=[psk])
    if hs.protocol_name != protocol:
        raise Failure(f"dissononce derived {hs.protocol_name}, wanted {protocol}")
    return hs


def write_handshake(hs):
    buf = bytearray()
    cipherstates = hs.write_message(b"", buf)
    return bytes(buf), cipherstates


def read_handshake(hs, message):
    payload = bytearray()
    cipherstates = hs.read_message(message, payload)
    if payload:
        raise Failure(f"handshake payload should be empty, got {bytes(payload)!r}")
    return cipherstates


async def bounded(awaitable, what):
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure(f"timeout ({TIMEOUT:.0f} s) waiting for {what}") from None


async def recv_binary(ws, what):
    msg = await bounded(ws.recv(), what)
    if not isinstance(msg, bytes):
        raise Failure(f"{what} arrived as a text message")
    return msg


class Peer:
    """One session_peer process; always killed by stop()."""

    def __init__(self, proc):
        self.proc = proc

    @classmethod
    async def start(cls, peer_path, *args, psk, protocol=None, stdin=False):
        argv = [peer_path, "--psk", psk.hex()]
        if protocol:
            argv += ["--protocol", protocol]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            *args,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2**20,  # RAW lines of big messages
        )
        return cls(proc)

    async def line(self, what):
        raw = await bounded(self.proc.stdout.readline(), f"session_peer to print {what}")
        if not raw:
            err = await self.stderr()
            raise Failure(f"session_peer ended before printing {what}; stderr: {err!r}")
        return raw.decode("ascii", "replace").rstrip("\n")

    async def expect(self, tag):
        """The next line, which must start with tag; returns the rest."""
        line = await self.line(tag)
        if not line.startswith(tag + " "):
            raise Failure(f"expected {tag} from session_peer, got {line[:100]!r}")
        return line[len(tag) + 1:]

    async def expect_hex(self, tag):
        return bytes.fromhex(await self.expect(tag))

    async def expect_ready(self):
        rest = await self.expect("READY")
        m = re.fullmatch(r"peer=([0-9a-f]{64}) hash=([0-9a-f]+)", rest)
        if not m:
            raise Failure(f"malformed READY line: {rest!r}")
        return bytes.fromhex(m.group(1)), bytes.fromhex(m.group(2))

    async def command(self, text):
        self.proc.stdin.write(text.encode("utf-8") + b"\n")
        await bounded(self.proc.stdin.drain(), f"session_peer to take command {text[:40]!r}")

    async def finish(self):
        """Waits for the exit; returns (status, rest of stdout, stderr)."""
        out, err = await bounded(self.proc.communicate(), "session_peer to exit")
        return self.proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    async def stderr(self):
        try:
            return (await asyncio.wait_for(self.proc.stderr.read(), 1.0)).decode("utf-8", "replace")
        except asyncio.TimeoutError:
            return "(no stderr yet)"

    async def stop(self):
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def connect(uri):
    # The original client: path "/", no subprotocol, no compression extension.
    return websockets.connect(
        uri, compression=None, max_size=MAX_SIZE, ping_interval=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT
    )


def serve(handler, bind):
    return websockets.serve(
        handler, bind, 0, compression=None, max_size=MAX_SIZE, ping_interval=None, close_timeout=TIMEOUT
    )


async def start_peer_server(peer_path, psk, protocol=None, bind="127.0.0.1"):
    peer = await Peer.start(peer_path, "server", bind, psk=psk, protocol=protocol)
    try:
        port = int(await peer.expect("PORT"))
        key = await peer.expect_hex("KEY")
    except BaseException:
        await peer.stop()
        raise
    return peer, port, key


async def client_handshake(ws, hs, tag, server_key):
    """Runs the initiator's side over ws; returns (send_cs, recv_cs). Checks sizes and the server key."""
    m1, _ = write_handshake(hs)
    await bounded(ws.send(m1), "sending handshake message 1")
    m2 = await recv_binary(ws, "handshake message 2")
    read_handshake(hs, m2)
    m3, cipherstates = write_handshake(hs)
    await bounded(ws.send(m3), "sending handshake message 3")
    check((len(m1), len(m2), len(m3)) == (48, 96, 64),
          f"{tag} handshake messages are single binary messages of 48, 96, 64 bytes")
    check(hs.rs is not None and hs.rs.data == server_key,
          f"{tag} dissononce learnt the static key session_peer printed")
    return cipherstates


async def original_client(peer_path, tag, protocol=None, bind="127.0.0.1", host="127.0.0.1"):
    """(a)/(d): the original client against session_peer server."""
    psk = os.urandom(32)
    peer, port, server_key = await start_peer_server(peer_path, psk, protocol, bind)
    try:
        uri = f"ws://{host}:{port}/"
        static = DH.generate_keypair()
        hs = handshake_state(protocol or DEFAULT_PROTOCOL, True, psk, static)
        async with connect(uri) as ws:
            c_send, c_recv = await client_handshake(ws, hs, tag, server_key)
            peer_key, peer_hash = await peer.expect_ready()
            check(peer_key == static.public.data, f"{tag} session_peer READY peer= is our static key")
            check(peer_hash == hs.symmetricstate.get_handshake_hash(),
                  f"{tag} session_peer READY hash= is dissononce's handshake hash")

            wire = await recv_binary(ws, "the name prompt")
            prompt = c_recv.decrypt_with_ad(b"", wire)
            check(prompt == PROMPT and len(wire) == len(PROMPT) + 16,
                  f"{tag} name prompt is exactly the original's bytes ({len(wire)}-byte transport message)")
            check(await peer.expect_hex("RAWOUT") == PROMPT, f"{tag} session_peer RAWOUT matches the prompt")

            name = original_json("", "Alice")
            await bounded(ws.send(c_send.encrypt_with_ad(b"", name)), "sending the name")
            check(await peer.expect_hex("RAWIN") == name, f"{tag} session_peer decrypted the name byte for byte")
            check(parse_msg(await peer.line("MSG")) == ("", "Alice"), f"{tag} session_peer decoded the name")
            joined = c_recv.decrypt_with_ad(b"", await recv_binary(ws, "the join notice"))
            check(joined == b'{"sender":"Server","content":"Alice joined the chat"}',
                  f"{tag} join notice is exactly the original's bytes")
            await peer.expect_hex("RAWOUT")

            echoes_ok = decoded_ok = 0
            for line in TRICKY_LINES:
                sent = original_json("", line)
                await bounded(ws.send(c_send.encrypt_with_ad(b"", sent)), "sending a chat line")
                raw_in = await peer.expect_hex("RAWIN")
                decoded = parse_msg(await peer.line("MSG"))
                raw_out = await peer.expect_hex("RAWOUT")
                echo = c_recv.decrypt_with_ad(b"", await recv_binary(ws, "an echo"))
                want = original_json("Alice", line)
                if raw_in != sent or decoded != ("", line):
                    raise Failure(f"{tag} session_peer received {raw_in!r} / {decoded!r} for {sent!r}")
                decoded_ok += 1
                if echo != want or raw_out != want:
                    raise Failure(f"{tag} echo of {line[:40]!r}: got {echo!r}, want serde's {want!r}")
                echoes_ok += 1
            check(decoded_ok == len(TRICKY_LINES),
                  f"{tag} {decoded_ok} chat lines (quotes, \\, controls, U+0001, é, emoji, /, DEL, empty, 2000 "
                  "bytes) decoded exactly by session_peer")
            check(echoes_ok == len(TRICKY_LINES),
                  f"{tag} their relabelled echoes equal serde_json's bytes exactly")

            # Another JSON writer (Python's: \\u escapes, surrogate pairs, spaces, reordered) must read the
            # same and come back in the original's form.
            other = '{ "content" : "\\u00e9\\ud83d\\ude00\\/\\u0041" , "sender" : "" }'.encode()
            await bounded(ws.send(c_send.encrypt_with_ad(b"", other)), "sending a json.dumps-style line")
            await peer.expect_hex("RAWIN")
            await peer.line("MSG")
            await peer.expect_hex("RAWOUT")
            echo = c_recv.decrypt_with_ad(b"", await recv_binary(ws, "its echo"))
            check(echo == original_json("Alice", "\u00e9\U0001F600/A"),
                  f"{tag} a message with \\u escapes, a surrogate pair, \\/ and reordered members echoes in serde form")

            await bounded(ws.close(1000), "the close handshake")
            check(ws.close_code == 1000, f"{tag} close handshake answered with 1000 (got {ws.close_code})")
        status, out, err = await peer.finish()
        check(status == 0 and "CLOSED code=1000 error=0" in out,
              f"{tag} session_peer server exited 0 with 'CLOSED code=1000 error=0' (status {status}: {out!r} {err!r})")
    finally:
        await peer.stop()


async def original_server(peer_path, tag="(b)"):
    """(b): the original server against session_peer client."""
    psk = os.urandom(32)
    loop = asyncio.get_running_loop()
    accepted = loop.create_future()
    release = loop.create_future()

    async def handler(ws):
        # The conversation is driven from the test body; returning would close the connection.
        if not accepted.done():
            accepted.set_result(ws)
        try:
            await asyncio.wait_for(asyncio.shield(release), OVERALL)
        except asyncio.TimeoutError:
            pass

    async with serve(handler, "127.0.0.1") as server:
        port = server.sockets[0].getsockname()[1]
        uri = f"ws://127.0.0.1:{port}/"
        peer = await Peer.start(peer_path, "client", uri, psk=psk, stdin=True)
        try:
            client_key = await peer.expect_hex("KEY")
            ws = await bounded(accepted, "session_peer client to connect")
            check(ws.path == "/" and "Sec-WebSocket-Extensions" not in ws.request_headers
                  and "Sec-WebSocket-Protocol" not in ws.request_headers,
                  f"{tag} session_peer client asked for / without extensions or subprotocols")
            static = DH.generate_keypair()
            hs = handshake_state(DEFAULT_PROTOCOL, False, psk, static)
            m1 = await recv_binary(ws, "handshake message 1")
            read_handshake(hs, m1)
            m2, _ = write_handshake(hs)
            await bounded(ws.send(m2), "sending handshake message 2")
            m3 = await recv_binary(ws, "handshake message 3")
            c_recv, c_send = read_handshake(hs, m3)  # initiator->responder, responder->initiator
            check((len(m1), len(m2), len(m3)) == (48, 96, 64), f"{tag} handshake message sizes 48, 96, 64")
            peer_key, peer_hash = await peer.expect_ready()
            check(peer_key == static.public.data, f"{tag} session_peer READY peer= is our static key")
            check(hs.rs is not None and hs.rs.data == client_key,
                  f"{tag} dissononce learnt the static key session_peer client printed")
            check(peer_hash == hs.symmetricstate.get_handshake_hash(),
                  f"{tag} session_peer READY hash= is dissononce's handshake hash")

            await bounded(ws.send(c_send.encrypt_with_ad(b"", PROMPT)), "sending the prompt")
            check(await peer.expect_hex("RAWIN") == PROMPT, f"{tag} session_peer client decrypted the prompt")
            check(parse_msg(await peer.line("MSG")) == ("Server", "Please enter your name:"),
                  f"{tag} session_peer client decoded the prompt")

            await peer.command("send Alice")
            name = c_recv.decrypt_with_ad(b"", await recv_binary(ws, "the name"))
            check(name == b'{"sender":"","content":"Alice"}',
                  f"{tag} the name arrives as the original's bytes: {name!r}")
            await peer.expect_hex("RAWOUT")

            joined = original_json("Server", "Alice joined the chat")
            await bounded(ws.send(c_send.encrypt_with_ad(b"", joined)), "sending the join notice")
            await peer.expect_hex("RAWIN")
            check(parse_msg(await peer.line("MSG")) == ("Server", "Alice joined the chat"),
                  f"{tag} session_peer client decoded the join notice")

            extra = b'{"sender":"Bob","content":"hi","extra":{"a":[1,2]},"type":"chat"}'
            await bounded(ws.send(c_send.encrypt_with_ad(b"", extra)), "sending a message with extra fields")
            check(await peer.expect_hex("RAWIN") == extra,
                  f"{tag} session_peer client received the extra-field message")
            check(parse_msg(await peer.line("MSG")) == ("Bob", "hi"),
                  f"{tag} unknown members ignored: decoded as sender Bob, content hi")

            line = 'tab\there "q" \\ \x01 caf\u00e9 \U0001F600'
            await peer.command("send " + line)
            got = c_recv.decrypt_with_ad(b"", await recv_binary(ws, "a tricky line"))
            check(got == original_json("", line), f"{tag} session_peer client encodes a tricky line as serde_json does")
            await peer.expect_hex("RAWOUT")

            raw = b'{ "content": "raw \\u0041", "sender": "x" }'
            await peer.command("raw " + raw.hex())
            got = c_recv.decrypt_with_ad(b"", await recv_binary(ws, "the raw plaintext"))
            check(got == raw, f"{tag} secchat_session_send delivers a raw plaintext unchanged")
            await peer.expect_hex("RAWOUT")

            await peer.command("close")
            await bounded(ws.wait_closed(), "session_peer client to close")
            check(ws.close_code == 1000, f"{tag} the websockets server saw close code {ws.close_code} (want 1000)")
            status, out, err = await peer.finish()
            check(status == 0 and "CLOSED code=1000 error=0" in out,
                  f"{tag} session_peer client exited 0 with 'CLOSED code=1000 error=0' "
                  f"(status {status}: {out!r} {err!r})")
        finally:
            if not release.done():
                release.set_result(None)
            await peer.stop()


async def expect_failure_close(ws, peer, tag, what, error):
    """ws must be closed by session_peer with 1008, and session_peer must report error and exit 1."""
    try:
        extra = await bounded(ws.recv(), f"session_peer to close after {what}")
        raise Failure(f"{tag} after {what} session_peer sent a {len(extra)}-byte message instead of closing")
    except websockets.ConnectionClosed:
        pass
    check(ws.close_code == 1008, f"{tag} {what}: websockets saw close code {ws.close_code} (want 1008)")
    status, out, err = await peer.finish()
    want = f"CLOSED code=1008 error={error}"
    check(status == 1 and want in out, f"{tag} {what}: session_peer exited 1 with '{want}' (status {status}: {out!r})")


async def wrong_psk_client(peer_path, tag="(c)"):
    """The original client with another PSK: it cannot read message 2; a careless one sends message 3 anyway."""
    peer, port, _ = await start_peer_server(peer_path, os.urandom(32))
    try:
        hs = handshake_state(DEFAULT_PROTOCOL, True, os.urandom(32), DH.generate_keypair())
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            m1, _ = write_handshake(hs)
            await bounded(ws.send(m1), "sending handshake message 1")
            m2 = await recv_binary(ws, "handshake message 2")
            try:
                read_handshake(hs, m2)
                refused = False
            except DecryptFailedException:
                refused = True
            check(refused, f"{tag} wrong PSK: dissononce refuses the server's message 2")
            # Continue as if the tag had verified: message 3 is then made under the wrong PSK's keys, which is
            # what the server must refuse (dissononce has already moved on to message 3's pattern).
            m3, _ = write_handshake(hs)
            await bounded(ws.send(m3), "sending handshake message 3")
            await expect_failure_close(ws, peer, tag, "wrong PSK in message 3", ERR_SESSION_HANDSHAKE)
    finally:
        await peer.stop()


async def bad_transport(peer_path, tag, kind):
    """A good handshake, then a tampered or replayed transport message from the original client."""
    psk = os.urandom(32)
    peer, port, _ = await start_peer_server(peer_path, psk)
    try:
        hs = handshake_state(DEFAULT_PROTOCOL, True, psk, DH.generate_keypair())
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            m1, _ = write_handshake(hs)
            await bounded(ws.send(m1), "sending handshake message 1")
            read_handshake(hs, await recv_binary(ws, "handshake message 2"))
            m3, (c_send, c_recv) = write_handshake(hs)
            await bounded(ws.send(m3), "sending handshake message 3")
            c_recv.decrypt_with_ad(b"", await recv_binary(ws, "the name prompt"))
            await peer.expect_ready()
            await peer.expect_hex("RAWOUT")
            wire = c_send.encrypt_with_ad(b"", original_json("", "Alice"))
            if kind == "tampered":
                bad = bytearray(wire)
                bad[3] ^= 0x01  # inside the ciphertext, before the tag
                await bounded(ws.send(bytes(bad)), "sending a tampered message")
                what = "a ciphertext with one flipped bit"
            else:
                await bounded(ws.send(wire), "sending the name")
                c_recv.decrypt_with_ad(b"", await recv_binary(ws, "the join notice"))
                await bounded(ws.send(wire), "replaying the name")
                what = "a replayed transport message"
            await expect_failure_close(ws, peer, tag, what, ERR_SESSION_DECRYPT)
    finally:
        await peer.stop()


async def wrong_psk_server(peer_path, tag="(c)"):
    """The original server with another PSK: session_peer client must refuse message 2 with 1008."""
    loop = asyncio.get_running_loop()
    result = loop.create_future()

    async def handler(ws):
        try:
            hs = handshake_state(DEFAULT_PROTOCOL, False, os.urandom(32), DH.generate_keypair())
            read_handshake(hs, await asyncio.wait_for(ws.recv(), TIMEOUT))
            m2, _ = write_handshake(hs)
            await ws.send(m2)
            extra = await asyncio.wait_for(ws.recv(), TIMEOUT)
            result.set_result(f"a {len(extra)}-byte message instead of a close")
        except websockets.ConnectionClosed:
            result.set_result(ws.close_code)
        except Exception as exc:  # reported through the future
            if not result.done():
                result.set_result(f"{type(exc).__name__}: {exc}")

    async with serve(handler, "127.0.0.1") as server:
        port = server.sockets[0].getsockname()[1]
        peer = await Peer.start(peer_path, "client", f"ws://127.0.0.1:{port}/", psk=os.urandom(32), stdin=True)
        try:
            code = await bounded(result, "the handshake with the wrong PSK to end")
            check(code == 1008, f"{tag} wrong PSK in message 2: websockets server saw close code {code} (want 1008)")
            status, out, err = await peer.finish()
            want = f"CLOSED code=1008 error={ERR_SESSION_HANDSHAKE}"
            check(status == 1 and want in out,
                  f"{tag} session_peer client exited 1 with '{want}' (status {status}: {out!r})")
        finally:
            await peer.stop()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


async def run(peer_path):
    await original_client(peer_path, "(a)")
    await original_server(peer_path, "(b)")
    await wrong_psk_client(peer_path, "(c)")
    await wrong_psk_server(peer_path, "(c)")
    await bad_transport(peer_path, "(c)", "tampered")
    await bad_transport(peer_path, "(c)", "replayed")
    await original_client(peer_path, "(d) ChaChaPoly", protocol=CHACHA_PROTOCOL)
    if ipv6_loopback():
        await original_client(peer_path, "(d) ::1", bind="::1", host="[::1]")
    else:
        print("note: no IPv6 loopback here; the ::1 run of (a) was not made", flush=True)


def main():
    if len(sys.argv) > 1:
        peer_path = sys.argv[1]
    else:
        peer_path = os.path.join(os.environ.get("BUILD", "build"), "tests", "chat", "session_peer")
    if not os.access(peer_path, os.X_OK):
        print(f"FAIL session_peer {peer_path} is missing or not executable (make check builds it)")
        return 1
    try:
        asyncio.run(asyncio.wait_for(run(peer_path), OVERALL))
    except asyncio.TimeoutError:
        print(f"FAIL the run took over {OVERALL:.0f} s")
        return 1
    except Failure as exc:
        print(f"FAIL {exc}")
        return 1
    except Exception as exc:  # any surprise (DecryptFailedException, ConnectionClosed, ...) is a failure
        print(f"FAIL {type(exc).__name__}: {exc}")
        return 1
    print(f"interop original: {passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
