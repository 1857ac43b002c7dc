"""Helpers for tests/server/hostile_e2e.py: what chatpeer.py does not have.

- Member: a named ChatClient whose every incoming message is recorded by a reader task, so that many clients
  can chat at once and be checked afterwards (per sender, all lines, in order).
- Plain-socket crowds (silent, slowloris) driven from one thread with epoll, so that 1,000 of them cost one
  thread and no asyncio transports.
- Looks into /proc: the server's VmRSS/VmHWM, its open descriptors, a TCP socket's queues.

Only importable from /usr/bin/python3 (chatpeer needs python3-websockets and python3-dissononce).
Every wait is bounded; a broken expectation raises chatpeer.Failure.
"""
import asyncio
import base64
import collections
import contextlib
import errno
import json
import os
import resource
import selectors
import socket
import struct
import time

import websockets

from chatpeer import TIMEOUT, ChatClient, Failure, short

# ---------------------------------------------------------------- the process under test


def raise_nofile(need):
    """Raises this process's RLIMIT_NOFILE soft limit to its hard limit (children started afterwards, the
    server included, inherit it). Returns (soft, hard); Failure if the hard limit is below need."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise Failure(f"RLIMIT_NOFILE hard limit is {hard}, the test needs {need} descriptors: "
                      f"raise it (ulimit -Hn) and run again")
    if soft == resource.RLIM_INFINITY or (hard != resource.RLIM_INFINITY and soft >= hard):
        return soft, hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def memory_kib(pid):
    """(VmRSS, VmHWM) of pid in KiB, from /proc/PID/status. VmHWM is the peak resident size so far."""
    rss = hwm = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    if rss is None or hwm is None:
        raise Failure(f"/proc/{pid}/status has no VmRSS/VmHWM")
    return rss, hwm


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


async def fds_reach(pid, pred, timeout):
    """Polls the fd count of pid until pred(count) or timeout; returns the last count seen."""
    deadline = time.monotonic() + timeout
    while True:
        n = fd_count(pid)
        if pred(n) or time.monotonic() >= deadline:
            return n
        await asyncio.sleep(0.02)


def tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) in bytes of the IPv4 TCP socket 127.0.0.1:local_port -> 127.0.0.1:remote_port, from
    /proc/net/tcp; None when there is no such socket."""
    want_local = f"0100007F:{local_port:04X}"
    want_remote = f"0100007F:{remote_port:04X}"
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want_local and fields[2] == want_remote:
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


# ---------------------------------------------------------------- raw WebSocket bytes


def upgrade_request(port, key=None):
    """The client's opening handshake (RFC 6455 section 4.1) for ws://127.0.0.1:port/."""
    key = key or base64.b64encode(os.urandom(16))
    return (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:" + str(port).encode() + b"\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")


def masked_frame(opcode, payload):
    """One complete client frame (FIN set, masked), as bytes, so that a test can send only part of it."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def reset_close(sock):
    """Closes sock with an RST instead of a FIN (SO_LINGER on, timeout 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---------------------------------------------------------------- crowds of plain sockets (run in a thread)


class Crowd:
    """Many plain TCP connections to 127.0.0.1:port, opened at once. For each: when it was opened, how it
    ended ("eof", "reset" or None while open), when, and how many bytes the server sent on it."""

    def __init__(self, port, count):
        self.socks, self.opened = [], []
        self.how, self.ended, self.received = [None] * count, [None] * count, [0] * count
        self.stopped = False  # set from another thread: watch() returns within 50 ms
        try:
            for _ in range(count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.socks.append(s)
                s.settimeout(TIMEOUT)
                s.connect(("127.0.0.1", port))
                s.setblocking(False)
                self.opened.append(time.monotonic())
        except OSError as exc:
            self.close()
            raise Failure(f"opening connection {len(self.opened) + 1} of {count}: {exc}") from None

    def open_count(self):
        return sum(1 for h in self.how if h is None)

    def first_end(self):
        ends = [e for e in self.ended if e is not None]
        return min(ends) if ends else None

    def _on_readable(self, i):
        try:
            data = self.socks[i].recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        except ConnectionResetError:
            self.how[i], self.ended[i] = "reset", time.monotonic()
            return True
        if data:
            self.received[i] += len(data)
            return False
        self.how[i], self.ended[i] = "eof", time.monotonic()
        return True

    def watch(self, deadline, drip=None, interval=0.1):
        """Until every connection has ended, time.monotonic() reaches deadline or stopped is set: records how
        each ends.
        With drip (bytes), every interval seconds each open connection is sent its next byte of drip (a
        slowloris); returns how many bytes were sent on each."""
        sent = [0] * len(self.socks)
        sel = selectors.DefaultSelector()
        try:
            for i, s in enumerate(self.socks):
                if self.how[i] is None:
                    sel.register(s, selectors.EVENT_READ, i)
            next_drip = time.monotonic()
            while self.open_count() and time.monotonic() < deadline and not self.stopped:
                now = time.monotonic()
                if drip is not None and now >= next_drip:
                    for i, s in enumerate(self.socks):
                        if self.how[i] is None and sent[i] < len(drip):
                            try:
                                sent[i] += s.send(drip[sent[i]:sent[i] + 1])
                            except (BlockingIOError, InterruptedError):
                                pass
                            except OSError as exc:  # EPIPE/ECONNRESET: the server has closed it
                                if sel.get_map() and s in sel.get_map():
                                    sel.unregister(s)
                                how = "reset" if exc.errno == errno.ECONNRESET else "eof"
                                self.how[i], self.ended[i] = how, time.monotonic()
                    next_drip += interval
                wait = min(deadline, next_drip if drip is not None else deadline) - time.monotonic()
                for key, _ in sel.select(max(0.0, min(wait, 0.05))):
                    if self._on_readable(key.data):
                        sel.unregister(key.fileobj)
        finally:
            sel.close()
        return sent

    def close(self):
        self.stopped = True
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


@contextlib.asynccontextmanager
async def watching(crowd, deadline, drip=None, interval=0.1):
    """crowd.watch() in a thread for the duration of the block; the task (its result: the bytes sent on each
    connection) is done after it. When the block fails the watch is stopped rather than waited out."""
    task = asyncio.create_task(asyncio.to_thread(crowd.watch, deadline, drip, interval))
    try:
        yield task
    except BaseException:
        crowd.stopped = True
        raise
    finally:
        await task


# ---------------------------------------------------------------- a recorded member


class Member:
    """A ChatClient that has joined; a reader task decrypts and records every message (parsed JSON, or None
    when a message is not JSON) until the connection ends, then records the close code and reason."""

    def __init__(self, client, name):
        self.client = client
        self.name = name
        self.raw, self.got = [], []
        self.count = collections.Counter()  # messages recorded per sender
        self.changed = asyncio.Event()
        self.done = False
        self.error = None
        self.close_code = self.close_reason = None
        self.ended_at = None
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def join(cls, uri, name):
        """Connects, handshakes, names itself (chatpeer checks the prompt and join notice byte for byte)."""
        return cls(await ChatClient.member(uri, name), name)

    async def _read(self):
        ws = self.client.ws
        try:
            while True:
                wire = await ws.recv()
                if not isinstance(wire, bytes):
                    self.error = f"a text message: {short(wire)}"
                    break
                plain = self.client.recv_cs.decrypt_with_ad(b"", wire)
                try:
                    obj = json.loads(plain.decode("utf-8"))
                except ValueError:
                    obj = None
                self.raw.append(plain)
                self.got.append(obj if isinstance(obj, dict) else None)
                if isinstance(obj, dict):
                    self.count[obj.get("sender")] += 1
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:  # a decrypt failure, mostly
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done = True
            self.ended_at = time.monotonic()
            self.close_code, self.close_reason = ws.close_code, ws.close_reason
            self.changed.set()

    def __repr__(self):
        return f"Member({self.name})"

    async def wait_for(self, pred, what, timeout=TIMEOUT, start=0):
        """Index of the first recorded message at or after start that pred accepts (pred gets the dict)."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.got):
                if self.got[i] is not None and pred(self.got[i]):
                    return i
                i += 1
            if self.done:
                raise Failure(f"{self.name}: connection ended (code {self.close_code}, {self.close_reason!r}"
                              f"{', ' + self.error if self.error else ''}) before {what}; last messages "
                              f"{short(self.raw[-3:])}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"{self.name}: timeout ({timeout:g} s) waiting for {what}; last messages "
                              f"{short(self.raw[-3:])}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait_count(self, pred, n, what, timeout=TIMEOUT):
        """Waits until n recorded messages satisfy pred; returns how many do (fewer only if it timed out)."""
        deadline = time.monotonic() + timeout
        while True:
            have = sum(1 for o in self.got if o is not None and pred(o))
            if have >= n or self.done or time.monotonic() >= deadline:
                return have
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def wait_from(self, sender, n, what, timeout=TIMEOUT):
        """Waits until n messages from sender have been recorded (a cheap counter, for long floods)."""
        deadline = time.monotonic() + timeout
        while self.count[sender] < n:
            if self.done:
                raise Failure(f"{self.name}: connection ended (code {self.close_code}, {self.close_reason!r}) "
                              f"with {self.count[sender]} of {n} messages from {sender} ({what})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"{self.name}: timeout ({timeout:g} s) with {self.count[sender]} of {n} messages "
                              f"from {sender} ({what})")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def ended(self, what, timeout=TIMEOUT):
        """Waits for the connection to end; returns (close code, reason)."""
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except asyncio.TimeoutError:
            raise Failure(f"{self.name}: still connected {timeout:g} s after {what}") from None
        return self.close_code, self.close_reason

    def lines_from(self, sender, tag):
        """Contents of the chat lines from sender that start with tag, in arrival order."""
        return [o["content"] for o in self.got
                if o is not None and o.get("sender") == sender and str(o.get("content", "")).startswith(tag)]

    def server_messages(self, kind=None):
        return [o for o in self.got if o is not None and o.get("sender") == "Server"
                and (kind is None or o.get("type") == kind)]

    async def say(self, text):
        await self.client.say(text)

    async def command(self, line, pred, what, timeout=TIMEOUT):
        """Sends line and returns the first message after it that pred accepts."""
        start = len(self.got)
        await self.say(line)
        return self.got[await self.wait_for(pred, what, timeout, start)]

    async def close(self):
        """A graceful close (1000), then the reader's end."""
        await self.client.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 2)
        except asyncio.TimeoutError:
            await self.abort()

    async def abort(self):
        await self.client.abort()
        if not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass


def is_server(kind, prefix=""):
    """A predicate: a Server message of that type whose content starts with prefix."""
    return lambda o: (o.get("sender") == "Server" and o.get("type") == kind
                      and str(o.get("content", "")).startswith(prefix))


def is_notice(text):
    """A predicate: a Server message with exactly that content (Part 1 notices have no type)."""
    return lambda o: o.get("sender") == "Server" and o.get("content") == text
