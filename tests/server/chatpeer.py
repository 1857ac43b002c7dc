"""Independent chat clients for the secchat-server end-to-end tests (tests/server/chat_e2e.py).

Nothing here comes from libsecchat: RFC 6455 is Debian's python3-websockets (or
the few lines of RawPeer below), Noise_XXpsk2_25519_AESGCM_SHA256 is
python3-dissononce, and the JSON the original program writes is built and
checked byte for byte with serde_string() (tests/common/original_wire.py,
shared with tests/chat/interop_original.py and tests/client/original_server.py).
Only importable from /usr/bin/python3.

Every wait is bounded by TIMEOUT; a broken expectation raises Failure.
"""
import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import struct
import sys
import time

import websockets
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory

TIMEOUT = 5.0  # seconds, for every single await
MAX_SIZE = 2**16  # the largest Noise message is 65535 bytes
PROTOCOL = "Noise_XXpsk2_25519_AESGCM_SHA256"
DEMO_PSK = b"my_super_secret_pre_shared_key!!"
PROMPT = b'{"sender":"Server","content":"Please enter your name:"}'
# docs/protocol.md: extension fields follow sender/content only when set, in this order.
FIELD_ORDER = ("sender", "content", "type", "room", "to", "ts")
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from original_wire import fingerprint, original_json, serde_string  # noqa: E402

DH = X25519DH()
FACTORY = NoiseProtocolFactory()


class Failure(Exception):
    pass


class Tally:
    """Counts checks; one "ok" line each."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, got=None):
        if not cond:
            raise Failure(what if got is None else f"{what}; got {got!r}")
        self.passed += 1
        print(f"ok {self.passed:2d} {what}", flush=True)


def short(value, limit=300):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


# ---------------------------------------------------------------- JSON, as the original writes it





def parse_part2(raw, what):
    """A part-2 message: a JSON object whose members are a subsequence of FIELD_ORDER with sender, content,
    type and ts present, written compactly with serde escaping (checked by rebuilding the bytes), ts an integer
    close to now. Returns the members as a dict."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Failure(f"{what}: not JSON: {short(raw)}") from None
    if not isinstance(obj, dict):
        raise Failure(f"{what}: not a JSON object: {short(raw)}")
    keys = list(obj)
    if keys != [k for k in FIELD_ORDER if k in obj] or keys[:2] != ["sender", "content"] \
            or "type" not in obj or "ts" not in obj:
        raise Failure(f"{what}: members {keys} are not sender, content, type[, room][, to], ts: {short(raw)}")
    ts = obj["ts"]
    if not isinstance(ts, int) or isinstance(ts, bool) or abs(ts - time.time() * 1000) > 60000:
        raise Failure(f"{what}: ts {ts!r} is not the Unix time in ms: {short(raw)}")
    for k in keys[:-1]:
        if not isinstance(obj[k], str):
            raise Failure(f"{what}: member {k} is not a string: {short(raw)}")
    rebuilt = b"{" + b",".join(serde_string(k) + b":" + (str(ts).encode() if k == "ts" else serde_string(obj[k]))
                               for k in keys) + b"}"
    if rebuilt != raw:
        raise Failure(f"{what}: not in the compact serde form (spaces, escapes or a repeated member): {short(raw)}")
    return obj


def try_part2(raw):
    try:
        return parse_part2(raw, "")
    except Failure:
        return None




# ---------------------------------------------------------------- Noise

def initiator(psk):
    proto = FACTORY.get_noise_protocol(PROTOCOL)
    hs = proto.create_handshakestate()
    static = DH.generate_keypair()
    hs.initialize(proto.pattern, True, b"", s=static, psks=[psk])
    return hs, static


def write_handshake(hs):
    buf = bytearray()
    cipherstates = hs.write_message(b"", buf)
    return bytes(buf), cipherstates


def read_handshake(hs, message):
    hs.read_message(message, bytearray())


async def bounded(awaitable, what, timeout=TIMEOUT):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise Failure(f"timeout ({timeout:g} s) waiting for {what}") from None


# ---------------------------------------------------------------- a client over python3-websockets

class ChatClient:
    """The original client at protocol level: one WebSocket, dissononce as the Noise initiator."""

    def __init__(self, label, ws):
        self.label = label
        self.ws = ws
        self.hs = None
        self.static = None
        self.send_cs = self.recv_cs = None
        self.server_key = None
        self.local_port = ws.local_address[1]

    @classmethod
    async def connect(cls, uri, label):
        try:
            ws = await bounded(websockets.connect(uri, compression=None, max_size=MAX_SIZE, ping_interval=None,
                                                  open_timeout=TIMEOUT, close_timeout=2), f"{label} to connect")
        except (OSError, websockets.InvalidHandshake) as exc:
            raise Failure(f"{label} cannot open {uri}: {type(exc).__name__}: {exc}") from None
        return cls(label, ws)

    @classmethod
    async def secure(cls, uri, label, psk=DEMO_PSK):
        """Connects and completes the Noise handshake."""
        c = await cls.connect(uri, label)
        try:
            await c.handshake(psk)
        except BaseException:
            await c.abort()
            raise
        return c

    @classmethod
    async def member(cls, uri, label, name=None, psk=DEMO_PSK):
        """Connects, handshakes, answers the prompt with name and checks prompt and join notice byte for byte."""
        c = await cls.secure(uri, label, psk)
        try:
            prompt = await c.recv("the name prompt")
            if prompt != PROMPT:
                raise Failure(f"{label}: prompt {short(prompt)}, want {PROMPT!r}")
            await c.say(name or label)
            joined = await c.recv("its join notice")
            want = original_json("Server", f"{name or label} joined the chat")
            if joined != want:
                raise Failure(f"{label}: join notice {short(joined)}, want {want!r}")
        except BaseException:
            await c.abort()
            raise
        return c

    @property
    def fingerprint(self):
        return fingerprint(self.static.public.data)

    async def send_m1(self, psk):
        self.hs, self.static = initiator(psk)
        m1, _ = write_handshake(self.hs)
        await bounded(self.ws.send(m1), f"{self.label} to send handshake message 1")

    async def handshake(self, psk):
        await self.send_m1(psk)
        m2 = await self.recv_wire("handshake message 2")
        read_handshake(self.hs, m2)  # DecryptFailedException with another PSK
        m3, (self.send_cs, self.recv_cs) = write_handshake(self.hs)
        await bounded(self.ws.send(m3), f"{self.label} to send handshake message 3")
        self.server_key = self.hs.rs.data

    async def recv_wire(self, what, timeout=TIMEOUT):
        try:
            msg = await bounded(self.ws.recv(), f"{self.label} to receive {what}", timeout)
        except websockets.ConnectionClosed as exc:
            raise Failure(f"{self.label}: connection closed (code {exc.code}, reason {exc.reason!r}) "
                          f"while waiting for {what}") from None
        if not isinstance(msg, bytes):
            raise Failure(f"{self.label}: {what} arrived as a text message: {short(msg)}")
        return msg

    async def recv(self, what, timeout=TIMEOUT):
        """The next plaintext."""
        wire = await self.recv_wire(what, timeout)
        try:
            return self.recv_cs.decrypt_with_ad(b"", wire)
        except DecryptFailedException:
            raise Failure(f"{self.label}: {what} failed to decrypt ({len(wire)} bytes)") from None

    async def send_plain(self, plaintext):
        await bounded(self.ws.send(self.send_cs.encrypt_with_ad(b"", plaintext)), f"{self.label} to send")

    async def say(self, text):
        """A line as the original client sends it: empty sender."""
        await self.send_plain(original_json("", text))

    async def command(self, line, pred, what):
        """Sends line and reads up to the first message pred accepts (a part-2 dict); returns (earlier raw
        messages, that dict). Commands of one connection are answered in order, so a reply is a barrier."""
        await self.say(line)
        before = []
        while True:
            raw = await self.recv(what)
            obj = try_part2(raw)
            if obj is not None and pred(obj):
                return before, obj
            before.append(raw)
            if len(before) > 50:
                raise Failure(f"{self.label}: no {what} among 50 messages, last {short(raw)}")

    async def rooms_barrier(self):
        """Whatever arrives before the answer to /rooms."""
        before, _ = await self.command(
            "/rooms", lambda o: o["type"] == "system" and o["content"].startswith("Rooms ("),
            "the answer to /rooms")
        return before

    async def closed(self, what, timeout=TIMEOUT):
        """Reads until the connection ends; returns (close code, reason, raw messages that came first)."""
        got = []
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                left = deadline - asyncio.get_running_loop().time()
                msg = await bounded(self.ws.recv(), f"{self.label}: the server to close after {what} "
                                    f"(received {len(got)} messages)", max(left, 0.01))
                got.append(msg)
        except websockets.ConnectionClosed:
            pass
        return self.ws.close_code, self.ws.close_reason, got

    async def close(self):
        """A graceful close (1000), so the server has seen it before the next step."""
        try:
            await asyncio.wait_for(self.ws.close(1000), TIMEOUT)
        except Exception:
            await self.abort()

    async def abort(self):
        try:
            self.ws.transport.abort()
        except Exception:
            pass


# ---------------------------------------------------------------- a client with a plain blocking socket

class RawPeer:
    """A hand-made client for what websockets will not do: garbage, silence, never reading. Blocking calls
    with a socket timeout; call them through asyncio.to_thread."""

    def __init__(self, host, port, rcvbuf=None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect, so the advertised window stays small and the server's output backs up.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, port))
        self.host, self.port = host, port
        self.buf = bytearray()
        self.send_cs = self.recv_cs = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def sendall(self, data):
        self.sock.sendall(data)

    def read_to_end(self, timeout=TIMEOUT):
        """Everything until the peer ends the connection: (bytes, "eof" | "reset" | "timeout")."""
        data = bytearray(self.buf)
        self.buf.clear()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(data), "timeout"
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return bytes(data), "timeout"
            except ConnectionResetError:
                return bytes(data), "reset"
            if not chunk:
                return bytes(data), "eof"
            data += chunk

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure(f"raw client: connection ended with {len(self.buf)} of {n} bytes read")
            self.buf += chunk

    def upgrade(self, path="/"):
        key = base64.b64encode(os.urandom(16))
        self.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + f"{self.host}:{self.port}".encode()
                     + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
                     + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        while b"\r\n\r\n" not in self.buf:
            before = len(self.buf)
            self._fill(before + 1)
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.buf = bytearray(rest)
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        if not head.startswith(b"HTTP/1.1 101 ") or b"sec-websocket-accept: " + accept.lower() not in head.lower():
            raise Failure(f"raw client: upgrade refused: {short(head)}")

    def send_frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sendall(head + mask + masked)

    def recv_frame(self):
        """(fin, opcode, payload) of the next frame; server frames are unmasked."""
        self._fill(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._fill(4)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        if b1 & 0x80:
            raise Failure("raw client: the server sent a masked frame")
        self._fill(off + n)
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_binary(self, what):
        fin, opcode, payload = self.recv_frame()
        if opcode == 8:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
            raise Failure(f"raw client: close frame {code} {payload[2:]!r} instead of {what}")
        if not fin or opcode != 2:
            raise Failure(f"raw client: frame opcode {opcode} fin {fin} instead of {what}")
        return payload

    def handshake(self, psk=DEMO_PSK):
        hs, self.static = initiator(psk)
        m1, _ = write_handshake(hs)
        self.send_frame(2, m1)
        read_handshake(hs, self.recv_binary("handshake message 2"))
        m3, (self.send_cs, self.recv_cs) = write_handshake(hs)
        self.send_frame(2, m3)

    def send_plain(self, plaintext):
        self.send_frame(2, self.send_cs.encrypt_with_ad(b"", plaintext))

    def recv_plain(self, what):
        return self.recv_cs.decrypt_with_ad(b"", self.recv_binary(what))

    def member(self, name):
        """Upgrade, handshake, prompt and name; checks the prompt and the join notice."""
        self.upgrade()
        self.handshake()
        prompt = self.recv_plain("the prompt")
        if prompt != PROMPT:
            raise Failure(f"raw client: prompt {short(prompt)}")
        self.send_plain(original_json("", name))
        joined = self.recv_plain("the join notice")
        if joined != original_json("Server", f"{name} joined the chat"):
            raise Failure(f"raw client: join notice {short(joined)}")


def split_frames(data):
    """Server frames in data (a complete or cut-off stream): [(opcode, payload)], the last possibly partial."""
    frames, i = [], 0
    while i + 2 <= len(data):
        n, off = data[i + 1] & 0x7F, 2
        if n == 126:
            if i + 4 > len(data):
                break
            n, off = struct.unpack(">H", data[i + 2:i + 4])[0], 4
        elif n == 127:
            if i + 10 > len(data):
                break
            n, off = struct.unpack(">Q", data[i + 2:i + 10])[0], 10
        frames.append((data[i] & 0x0F, data[i + off:i + off + n]))
        i += off + n
    return frames


# ---------------------------------------------------------------- a server instance

LISTEN_RE = re.compile(r"Server listening on: (\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]+)")


class ServerProc:
    """One secchat-server started by the tests; its stdout and stderr are read all along (a full pipe would
    stall it) and it is always killed by stop()."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self.err = bytearray()
        self.new_line = asyncio.Event()
        self.tasks = []
        self.first = None
        self.host = self.port = None

    @classmethod
    async def start(cls, path, *args, stdin=False, env=None):
        """env: variables to add to (None: to remove from) the environment."""
        full = dict(os.environ)
        full.pop("SECCHAT_PSK_FILE", None)
        for k, v in (env or {}).items():
            if v is None:
                full.pop(k, None)
            else:
                full[k] = v
        proc = await asyncio.create_subprocess_exec(
            path, *args, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=full)
        srv = cls(proc)
        srv.tasks = [asyncio.create_task(srv._read_stdout()), asyncio.create_task(srv._read_stderr())]
        try:
            srv.first = await srv.console_line(0, "the first console line")
            m = LISTEN_RE.fullmatch(srv.first)
            if not m:
                raise Failure(f"first console line {srv.first!r} is not 'Server listening on: ADDR:PORT'")
            srv.host, srv.port = m.group(1).strip("[]"), int(m.group(2))
        except BaseException:
            await srv.stop()
            raise
        return srv

    @property
    def uri(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    async def _read_stdout(self):
        while True:
            raw = await self.proc.stdout.readline()
            if not raw:
                self.new_line.set()
                return
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self.new_line.set()

    async def _read_stderr(self):
        while True:
            chunk = await self.proc.stderr.read(4096)
            if not chunk:
                return
            self.err += chunk

    async def console_line(self, index, what):
        """Console line number index (0-based), waiting for it."""
        return await self.console(lambda i, line: i == index, what)

    async def console(self, pred, what, timeout=TIMEOUT):
        """The first console line with pred(index, line); waits for it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self.new_line.clear()
            for i, line in enumerate(self.lines):
                if pred(i, line):
                    return line
            if self.proc.stdout.at_eof() and self.tasks[0].done():
                raise Failure(f"server stdout ended before {what}; status {self.proc.returncode}, "
                              f"console {self.lines[-8:]!r}, stderr {self.stderr()[-500:]!r}")
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise Failure(f"timeout ({timeout:g} s) waiting for console {what}; last lines {self.lines[-8:]!r}")
            try:
                await asyncio.wait_for(self.new_line.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def has_line(self, text, timeout=TIMEOUT):
        """Waits for a console line equal to text; True if it came."""
        try:
            await self.console(lambda i, line: line == text, repr(text), timeout)
            return True
        except Failure:
            return False

    def stderr(self):
        return self.err.decode("utf-8", "replace")

    async def operator(self, line):
        self.proc.stdin.write(line.encode("utf-8") + b"\n")
        await bounded(self.proc.stdin.drain(), f"the server to read operator line {line!r}")

    async def wait_exit(self, timeout=TIMEOUT):
        """The exit status, or None if still running after timeout."""
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            return None

    async def stop(self):
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            await self.proc.wait()
        for t in self.tasks:
            try:
                await asyncio.wait_for(t, 1)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                t.cancel()
