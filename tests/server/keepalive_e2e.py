#!/usr/bin/python3
"""Keepalive of secchat-server: pings to silent clients, and the drop of a client that never answers them.

Run by tests/server/test_keepalive.sh as
    /usr/bin/python3 -B tests/server/keepalive_e2e.py --server BUILD/apps/secchat-server

Starts its own server: --listen 127.0.0.1:0 --demo-psk --ping-interval 300 --pong-timeout 600.
The server checks for due pings on a 250 ms tick, so a ping comes 300-550 ms after a client's last frame and
the drop 600-850 ms after an unanswered ping: the time windows below allow for that and for scheduling.
(a) Bob (python3-websockets, which answers pings by itself) joins; Carol (chatpeer.RawPeer, a plain socket
    that never answers) joins and stays silent: she gets a ping frame, then the TCP connection just ends (EOF,
    no close frame is owed to a peer that stopped answering); Bob gets "Carol left the chat" byte for byte and
    the console says why.
(b) Dave, a websockets client whose automatic pong is switched off (the instance's pong() is what websockets
    calls for every ping it reads), is dropped the same way.
(c) Bob, silent all along but answering pings, is still connected after 2 s more of silence: he was pinged,
    and his next line reaches the server and a command is answered.
One "ok" line per check, then "keepalive e2e: N checks passed"; exit 1 on any failure. Every wait is bounded.
"""
import argparse
import asyncio
import signal
import sys
import time

try:
    # chatpeer imports python3-websockets and python3-dissononce
    from chatpeer import ChatClient, Failure, RawPeer, ServerProc, Tally, original_json, short
except ImportError as exc:
    print(f"FAIL cannot import websockets/dissononce ({exc}): install python3-websockets python3-dissononce "
          "and run with /usr/bin/python3")
    sys.exit(1)

OVERALL = 25.0  # seconds, for the whole run
PING_MS, PONG_MS = 300, 600
t = Tally()


def count_pongs(client):
    """Counts the pings websockets answers for client (pong() is called once per ping read)."""
    client.pings = 0
    answer = client.ws.pong

    async def counting(data=b""):
        client.pings += 1
        await answer(data)

    client.ws.pong = counting


def silence_pongs(client):
    """websockets without its automatic pong: the ping is read and ignored."""
    client.pings = 0

    async def ignore(data=b""):
        client.pings += 1

    client.ws.pong = ignore


async def expect_left(srv, bob, name):
    left = await bob.recv(f"'{name} left the chat'")
    t.check(left == original_json("Server", f"{name} left the chat"),
            f"Bob got exactly {original_json('Server', f'{name} left the chat')!r}", short(left))
    t.check(await srv.has_line(f"{name} left the chat"), f"console: '{name} left the chat'")


async def silent_raw(srv, bob):
    """(a) Carol never answers: one ping, then EOF."""
    carol = await asyncio.to_thread(RawPeer, "127.0.0.1", srv.port)
    try:
        await asyncio.to_thread(carol.member, "Carol")
        t0 = time.monotonic()  # the server has just read Carol's last frame (her name)
        address = "%s:%d" % carol.sock.getsockname()[:2]
        joined = await bob.recv("'Carol joined the chat'")
        if joined != original_json("Server", "Carol joined the chat"):
            raise Failure(f"Bob: join notice {short(joined)}")

        fin, opcode, payload = await asyncio.to_thread(carol.recv_frame)
        t_ping = time.monotonic()
        t.check(opcode == 9 and fin, "silent raw client: the next frame is a ping", (opcode, fin, payload))
        t.check(0.15 <= t_ping - t0 <= 1.2,
                f"the ping came {t_ping - t0:.2f} s after the client fell silent "
                f"(--ping-interval {PING_MS} ms, 250 ms tick: 0.15-1.2 s allowed)")

        rest, how = await asyncio.to_thread(carol.read_to_end, 4.0)
        t_end = time.monotonic()
        t.check(how == "eof", "unanswered ping: the server ended the TCP connection (EOF)", (how, short(rest)))
        t.check(0.45 <= t_end - t_ping <= 2.0,
                f"dropped {t_end - t_ping:.2f} s after the ping (--pong-timeout {PONG_MS} ms: 0.45-2.0 s allowed)")
        t.check(rest == b"", "nothing (no second ping, no data) before the EOF", short(rest))
        await expect_left(srv, bob, "Carol")
        t.check(await srv.has_line(f"Connection {address} closed: no answer to a ping"),
                f"console: 'Connection {address} closed: no answer to a ping'")
    finally:
        carol.close()


async def silent_websockets(srv, bob):
    """(b) Dave reads pings but his websockets never answers them: dropped, 1006 (no close frame)."""
    dave = await ChatClient.member(srv.uri, "Dave")
    try:
        silence_pongs(dave)
        t0 = time.monotonic()
        joined = await bob.recv("'Dave joined the chat'")
        if joined != original_json("Server", "Dave joined the chat"):
            raise Failure(f"Bob: join notice {short(joined)}")
        code, reason, got = await dave.closed("its silence", timeout=4.0)
        dt = time.monotonic() - t0
        t.check(dave.pings >= 1 and dt <= 2.5,
                f"websockets client with its pong switched off: pinged ({dave.pings}), dropped after {dt:.2f} s")
        t.check(code == 1006 and got == [], "it saw no close frame and no message (1006)", (code, reason, got))
        await expect_left(srv, bob, "Dave")
    finally:
        await dave.abort()


async def run(server_path):
    # A SIGTERM (the shell's timeout) cancels the run, so the finally below still kills the server.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    srv = await ServerProc.start(server_path, "--listen", "127.0.0.1:0", "--demo-psk",
                                 "--ping-interval", str(PING_MS), "--pong-timeout", str(PONG_MS))
    bob = None
    try:
        bob = await ChatClient.member(srv.uri, "Bob")
        count_pongs(bob)
        bob_silent_since = time.monotonic()
        await silent_raw(srv, bob)
        await silent_websockets(srv, bob)

        # (c) Bob has only answered pings since he joined; make it 2 s more of silence.
        await asyncio.sleep(2.0)
        silent = time.monotonic() - bob_silent_since
        t.check(bob.ws.open and bob.pings >= 3,
                f"Bob (answers pings) still connected after {silent:.1f} s of silence, {bob.pings} pings answered")
        await bob.say("still here")
        t.check(await srv.has_line("Bob: still here"), "Bob's next line reaches the server: 'Bob: still here'")
        before = await bob.rooms_barrier()
        t.check(before == [], "and /rooms is answered, with nothing (no close, no notice) before it", before)
        await bob.close()
        t.check(bob.ws.close_code == 1000, "Bob closes cleanly (1000)", bob.ws.close_code)
    finally:
        if bob:
            await bob.abort()
        await srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    a = ap.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(a.server), OVERALL))
    except asyncio.TimeoutError:
        print(f"FAIL the run took over {OVERALL:g} s")
        return 1
    except asyncio.CancelledError:
        print("FAIL stopped by SIGTERM")
        return 1
    except Failure as exc:
        print(f"FAIL {exc}")
        return 1
    except Exception as exc:  # anything unexpected is a failure too
        print(f"FAIL {type(exc).__name__}: {exc}")
        return 1
    print(f"keepalive e2e: {t.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
