"""Interoperability of secchat_ws with python3-websockets (10.4, legacy asyncio API).

Run by tests/ws/test_interop_websockets.sh as
    /usr/bin/python3 -B tests/ws/interop_websockets.py BUILD/tests/ws/ws_peer

(a) ws_peer server <- websockets client: echoes of many sizes, ping/pong, a
    message fragmented by websockets, clean close 1000.
(b) websockets echo server <- ws_peer client: the same sizes, ping, close;
    the websockets server sees a clean close 1000; an echo over our client's
    65535-byte limit is refused with 1009.
(c) ws_peer server refuses a text message (1003) and a 65536-byte message (1009).
(d) (a) and the first part of (b) over IPv6 loopback (::1).

Every await is bounded; subprocesses are killed at the end. One line per
check, then "interop websockets: N checks passed"; exit status 1 on failure.
"""
import asyncio
import random
import socket
import sys

import websockets

TIMEOUT = 5.0  # seconds, for every single await
OVERALL = 30.0  # seconds, for the whole run
MAX_SIZE = 2**17
SIZES = [0, 1, 125, 126, 127, 65535]
RANDOM_SEED = 6455

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


def pattern(size):
    """The message ws_peer client sends for `send <size>`: byte i = (i*31 + size) & 0xff."""
    return bytes((i * 31 + size) & 0xFF for i in range(size))


def random_sizes():
    rng = random.Random(RANDOM_SEED)
    return [rng.randrange(2, 125), rng.randrange(128, 4096), rng.randrange(4096, 65535), rng.randrange(1, 65535)]


async def bounded(awaitable, what):
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure(f"timeout ({TIMEOUT:.0f} s) waiting for {what}") from None


class Peer:
    """One ws_peer process; always killed by stop()."""

    def __init__(self, proc):
        self.proc = proc

    @classmethod
    async def start(cls, peer_path, *args, stdin=False):
        proc = await asyncio.create_subprocess_exec(
            peer_path,
            *args,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def line(self, what):
        raw = await bounded(self.proc.stdout.readline(), f"ws_peer to print {what}")
        if not raw:
            err = await self.stderr()
            raise Failure(f"ws_peer ended before printing {what}; stderr: {err!r}")
        return raw.decode("utf-8", "replace").rstrip("\n")

    async def command(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        await bounded(self.proc.stdin.drain(), f"ws_peer to take command {text!r}")

    async def finish(self):
        """Waits for the exit; returns (status, rest of stdout, stderr)."""
        out, err = await bounded(self.proc.communicate(), "ws_peer to exit")
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


async def start_server(peer_path, bind):
    peer = await Peer.start(peer_path, "server", bind)
    line = await peer.line("its PORT line")
    if not line.startswith("PORT "):
        await peer.stop()
        raise Failure(f"ws_peer server printed {line!r}, want 'PORT <n>'")
    return peer, int(line.split()[1])


def connect(uri):
    return websockets.connect(
        uri, compression=None, max_size=MAX_SIZE, ping_interval=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT
    )


async def echo_against_peer_server(peer_path, tag, bind, host):
    """(a)/(d): websockets client against ws_peer server."""
    peer, port = await start_server(peer_path, bind)
    try:
        uri = f"ws://{host}:{port}/"
        messages = 0
        async with connect(uri) as ws:
            check(ws.open, f"{tag} websockets client connected to ws_peer server at {uri}")
            for size in SIZES + random_sizes():
                data = pattern(size) if size % 2 else random.Random(size).randbytes(size)
                await bounded(ws.send(data), f"sending {size} bytes")
                echo = await bounded(ws.recv(), f"the echo of {size} bytes")
                messages += 1
                check(isinstance(echo, bytes) and echo == data, f"{tag} echo of {size} bytes is binary and identical")
            # websockets resolves the waiter only for a pong carrying this ping's payload.
            pong_waiter = await bounded(ws.ping(b"interop-ping"), "sending a ping")
            try:
                await asyncio.wait_for(pong_waiter, TIMEOUT)
                answered = True
            except asyncio.TimeoutError:
                answered = False
            check(answered, f"{tag} ping answered within {TIMEOUT:.0f} s by a pong with the same payload")
            # A message fragmented by websockets: one frame per item, with an empty fragment among them.
            parts = [pattern(1000), b"", pattern(65535 - 1000 - 300), pattern(300)]
            await bounded(ws.send(parts), "sending a fragmented message")
            echo = await bounded(ws.recv(), "the echo of the fragmented message")
            messages += 1
            check(echo == b"".join(parts), f"{tag} fragmented message (4 frames, 65535 bytes) echoed whole")
            await bounded(ws.close(1000, "done"), "the close handshake")
            check(
                ws.close_code == 1000 and ws.close_reason == "done",
                f"{tag} close handshake: ws_peer answered 1000 'done' (got {ws.close_code} {ws.close_reason!r})",
            )
        status, out, err = await peer.finish()
        want = f"CLOSED code=1000 messages={messages}"
        check(
            status == 0 and want in out,
            f"{tag} ws_peer server exited 0 with '{want}' (status {status}: {out!r} {err!r})",
        )
    finally:
        await peer.stop()


def serve(handler, bind):
    return websockets.serve(
        handler, bind, 0, compression=None, max_size=MAX_SIZE, ping_interval=None, close_timeout=TIMEOUT
    )


async def peer_client_against_websockets_server(peer_path, tag="(b)", bind="127.0.0.1", host="127.0.0.1"):
    """(b): ws_peer client against a websockets echo server."""
    closed = asyncio.get_running_loop().create_future()
    kinds = []

    async def handler(ws):
        try:
            async for msg in ws:
                kinds.append(type(msg))
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            if not closed.done():
                closed.set_result((ws.close_code, ws.close_reason))

    async with serve(handler, bind) as server:
        port = server.sockets[0].getsockname()[1]
        uri = f"ws://{host}:{port}/"
        peer = await Peer.start(peer_path, "client", uri, stdin=True)
        try:
            line = await peer.line("OPEN")
            check(line == "OPEN", f"{tag} ws_peer client opened {uri} on a websockets server ({line!r})")
            for size in SIZES + random_sizes():
                await peer.command(f"send {size}")
                line = await peer.line(f"the echo of {size} bytes")
                check(line == f"ECHO {size} OK", f"{tag} ws_peer client: {line}")
            await peer.command("ping")
            line = await peer.line("PONG OK")
            check(line == "PONG OK", f"{tag} ws_peer client: {line}")
            await peer.command("close")
            line = await peer.line("CLOSED")
            check(line == "CLOSED code=1000", f"{tag} ws_peer client: {line}")
            status, out, err = await peer.finish()
            check(status == 0, f"{tag} ws_peer client exited 0 (status {status}, stderr {err!r})")
            code, reason = await bounded(closed, "the websockets handler to end")
            check(code == 1000, f"{tag} websockets server saw a clean close: code {code} reason {reason!r}")
            binary = kinds and all(k is bytes for k in kinds)
            check(binary, f"{tag} websockets server got {len(kinds)} messages, all binary")
        finally:
            await peer.stop()
    if tag != "(b)":
        return

    # Our client refuses an echo over its 65535-byte limit with 1009; websockets sees that code.
    closed = asyncio.get_running_loop().create_future()
    async with serve(handler, "127.0.0.1") as server:
        port = server.sockets[0].getsockname()[1]
        peer = await Peer.start(peer_path, "client", f"ws://127.0.0.1:{port}/", stdin=True)
        try:
            await peer.line("OPEN")
            await peer.command("send 65536")
            status, out, err = await peer.finish()
            check(status == 1 and "1009" in err, f"(b) ws_peer client refused a 65536-byte echo: {err.strip()!r}")
            code, reason = await bounded(closed, "the websockets handler to end")
            check(code == 1009, f"(b) websockets server saw close code {code} (want 1009)")
        finally:
            await peer.stop()


async def refused_by_peer_server(peer_path, what, message, want_code):
    """(c): a message ws_peer server must refuse with want_code."""
    peer, port = await start_server(peer_path, "127.0.0.1")
    try:
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await bounded(ws.send(message), f"sending {what}")
            try:
                got = await bounded(ws.recv(), f"ws_peer to close after {what}")
                raise Failure(f"(c) ws_peer echoed {what} ({len(got)} bytes) instead of closing")
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
                check(code == want_code, f"(c) {what}: ws_peer closed with {code} (want {want_code}): {e}")
        status, out, err = await peer.finish()
        check(
            status == 1 and f"CLOSED code={want_code}" in out,
            f"(c) ws_peer server reported the refusal and exited 1 ({out.strip()!r})",
        )
    finally:
        await peer.stop()


def ipv6_loopback():
    """None when ::1 can be bound, else why not."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return None
    except OSError as e:
        return str(e)


async def main(peer_path):
    print(f"websockets {websockets.__version__}, peer {peer_path}", flush=True)
    await echo_against_peer_server(peer_path, "(a)", "127.0.0.1", "127.0.0.1")
    await peer_client_against_websockets_server(peer_path)
    await refused_by_peer_server(peer_path, "a text message", "hello", 1003)
    await refused_by_peer_server(peer_path, "a 65536-byte message", pattern(65536), 1009)
    why = ipv6_loopback()
    if why is None:
        await echo_against_peer_server(peer_path, "(d)", "::1", "[::1]")
        await peer_client_against_websockets_server(peer_path, "(d)", "::1", "[::1]")
    else:
        print(f"SKIPPED (d) IPv6: ::1 cannot be bound here ({why})", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: interop_websockets.py PATH_TO_WS_PEER")
    try:
        asyncio.run(asyncio.wait_for(main(sys.argv[1]), OVERALL))
    except Failure as e:
        print(f"FAIL after {passed} checks: {e}", flush=True)
        sys.exit(1)
    except asyncio.TimeoutError:
        print(f"FAIL after {passed} checks: the run took over {OVERALL:.0f} s", flush=True)
        sys.exit(1)
    except Exception as e:  # anything unexpected is a failure too, with its type
        print(f"FAIL after {passed} checks: {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
    print(f"interop websockets: {passed} checks passed", flush=True)
