#!/usr/bin/python3
"""Hostile clients against the real secchat-server program, while well-behaved members keep chatting.

Run by tests/server/test_hostile.sh as
    /usr/bin/python3 -B tests/server/hostile_e2e.py --server BUILD/apps/secchat-server [--only N]...

Every scenario starts its own server (--listen 127.0.0.1:0 --demo-psk --quiet plus its flags), measures its
VmRSS and open descriptors once it is up (the baseline), runs, and then checks, besides its own checks:
  - every line a well-behaved member sent reached every other member of its room, in order, without echo;
  - the server's peak resident size (VmHWM) stayed under the scenario's bound (baseline + N MiB);
  - once the clients are gone its descriptor count is back to the baseline;
  - on SIGTERM it exits with status 0 within 3 s.
Scenarios 1-5 run with --rate 0 (no rate limit): their members flood on purpose, to test other things.
The server is killed at the end of a scenario however it ends. The server checks its deadlines on a 250 ms
tick (lib/server/worker.c), so a timeout of T ms closes a connection T to T+250 ms after it began; the upper
bounds below add 2 s for a loaded machine.

 1 1,000 silent TCP connections (--handshake-timeout 1500) while 3 members chat; all 1,000 see EOF.
 2 slowloris: 50 clients send the upgrade request one byte per 100 ms; closed at the handshake deadline.
 3 clients that vanish at bad moments: mid frame header, mid payload, after Noise message 1, mid message 3,
   and a member reset (RST) while the server still has a backlog for it.
 4 a member that never reads while 3 others chat heavily (--queue-limit 65536): it is dropped.
 5 churn: 300 x (connect, handshake, name, /join roomK, close) while 2 members chat; /rooms afterwards.
Limits (docs/robustness.md):
 6 --rate 20 --burst 40: a flooder's first 40 lines pass, then it gets a "Slow down:" error and, 40 refused
   lines in a row later, 1008 "message rate exceeded"; a member at half the rate is never refused.
 7 --max-pending 20: the 21st unnamed connection gets HTTP 503; accepted again after the timeouts.
 8 --name-timeout 1000: a client that never names itself gets 1008 "no name given in time".
 9 --max-rooms 3: a /join that would create a 4th room is refused ("Cannot create room..."), also while
   the lobby is empty (its slot is kept for newcomers).
10 --max-room-members 2: /join to a full room is refused; a newcomer to a full lobby gets 1008.
11 --max-name-length 8: a 9-byte name is refused and asked again; 8 bytes are accepted.
One line per check, "ok - ..." or "FAIL - ...", "# ..." lines with the measured figures, then a summary;
exit status 1 on any failure. Everything is bounded: each scenario by SCENARIO_BUDGET, the run by OVERALL.
"""
import argparse
import asyncio
import json
import re
import signal
import sys
import time

try:
    import websockets
    from chatpeer import (DEMO_PSK, PROMPT, ChatClient, Failure, RawPeer, ServerProc, initiator, original_json,
                          read_handshake, short, split_frames, write_handshake)
    from hostile_peers import (Crowd, Member, fd_count, fds_reach, is_notice, is_server, masked_frame, memory_kib,
                               raise_nofile, reset_close, tcp_queues, upgrade_request, watching)
except ImportError as exc:
    print(f"FAIL - cannot import websockets/dissononce ({exc}): install python3-websockets python3-dissononce "
          "and run with /usr/bin/python3")
    sys.exit(1)

OVERALL = 88.0  # seconds, for the whole run
SCENARIO_BUDGET = 25.0  # seconds, for one scenario (the churn gets CHURN_BUDGET: it is CPU-bound in Python)
CHURN_BUDGET = 45.0
HS_MS = 1500  # --handshake-timeout in every scenario that has silent connections
TICK = 0.25  # the server's deadline tick, seconds
SLACK = 2.0  # added to every upper time bound, for a loaded machine
SILENT = 1000  # scenario 1's silent connections


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, tag, cond, what, got=None):
        if cond:
            self.passed += 1
            print(f"ok - {tag}: {what}", flush=True)
        else:
            self.failed.append(f"{tag}: {what}")
            print(f"FAIL - {tag}: {what}" + ("" if got is None else f"; got {short(got, 400)}"), flush=True)
        return cond


R = Results()


class Run:
    """One scenario: its server, its clients, the baseline, the closing checks; cleanup() always kills."""

    def __init__(self, tag, args):
        self.tag = tag
        self.path = args.server
        self.srv = None
        self.members, self.crowds, self.raws = [], [], []
        self.base_rss = self.base_fds = None

    def check(self, cond, what, got=None):
        return R.check(self.tag, cond, what, got)

    def note(self, text):
        print(f"# {self.tag}: {text}", flush=True)

    @property
    def pid(self):
        return self.srv.proc.pid

    @property
    def uri(self):
        return self.srv.uri

    async def start(self, *flags):
        try:
            self.srv = await ServerProc.start(self.path, "--listen", "127.0.0.1:0", "--demo-psk", "--quiet", *flags)
        except Failure as exc:
            unknown = re.search(r"unknown option '[^']*'", str(exc))
            why = unknown.group(0) if unknown else short(str(exc), 300)
            raise Failure(f"the server does not start with {' '.join(flags)}: {why}") from None
        await asyncio.sleep(0.1)  # the workers' loops are up before the listening line; let them settle anyway
        self.base_rss, _ = memory_kib(self.pid)
        self.base_fds = fd_count(self.pid)
        self.note(f"server {' '.join(flags) or '(no extra flags)'}: baseline VmRSS {self.base_rss} KiB, "
                  f"{self.base_fds} fds")
        return self.srv

    async def member(self, name):
        m = await Member.join(self.uri, name)
        self.members.append(m)
        return m

    def adopt(self, client, name):
        m = Member(client, name)
        self.members.append(m)
        return m

    async def raw(self, rcvbuf=None):
        r = await asyncio.to_thread(RawPeer, "127.0.0.1", self.srv.port, rcvbuf)
        self.raws.append(r)
        return r

    async def crowd(self, count):
        c = await asyncio.to_thread(Crowd, self.srv.port, count)
        self.crowds.append(c)
        return c

    async def finish(self, rss_mib):
        """The closing checks: descriptors back to the baseline, peak RSS under baseline + rss_mib MiB, a clean
        exit on SIGTERM."""
        await asyncio.gather(*(m.close() for m in self.members))
        for c in self.crowds:
            c.close()
        for r in self.raws:
            r.close()
        n = await fds_reach(self.pid, lambda n: n <= self.base_fds, 3.0)
        self.check(n <= self.base_fds, f"once the clients are gone the server's fd count is back to the baseline "
                   f"({n}, baseline {self.base_fds})", n)
        rss, hwm = memory_kib(self.pid)
        bound = self.base_rss + rss_mib * 1024
        self.note(f"VmRSS baseline {self.base_rss} KiB, peak (VmHWM) {hwm} KiB (+{(hwm - self.base_rss) / 1024:.1f} "
                  f"MiB), at the end {rss} KiB (+{(rss - self.base_rss) / 1024:.1f} MiB); bound {bound} KiB")
        self.check(hwm <= bound, f"peak VmRSS {hwm} KiB <= baseline {self.base_rss} KiB + {rss_mib} MiB", hwm)
        self.srv.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        status = await self.srv.wait_exit(3.0)
        self.check(status == 0, f"SIGTERM: the server exits with status 0 within 3 s "
                   f"({time.monotonic() - t0:.2f} s)", status)

    async def cleanup(self):
        for m in self.members:
            await m.abort()
        for c in self.crowds:
            c.close()
        for r in self.raws:
            r.close()
        if self.srv:
            await self.srv.stop()


# ---------------------------------------------------------------- chat among well-behaved members

def numbered(tag, sender, n):
    return [f"{tag} {sender} {i:03d}" for i in range(n)]


async def send_numbered(m, tag, n, pace=0.0):
    for i in range(n):
        await m.say(f"{tag} {m.name} {i:03d}")
        if pace:
            await asyncio.sleep(pace)


async def expect_lines(run, receivers, sent, tag, what, timeout=6.0):
    """sent: {sender name: number of numbered lines it sent with tag}. Every receiver other than the sender
    must have got exactly those lines, in order; nobody gets its own lines back."""
    deadline = time.monotonic() + timeout
    for r in receivers:
        for s, n in sent.items():
            if s != r.name:
                await r.wait_count(lambda o, s=s: o.get("sender") == s and str(o.get("content")).startswith(tag + " "),
                                   n, f"{s}'s lines", max(0.1, deadline - time.monotonic()))
    bad = []
    for r in receivers:
        for s, n in sent.items():
            got = r.lines_from(s, tag + " ")
            want = [] if s == r.name else numbered(tag, s, n)
            if got != want:
                bad.append(f"{r.name} from {s}: {len(got)} lines, want {len(want)}; first differences "
                           f"{[(i, g) for i, (g, w) in enumerate(zip(got, want)) if g != w][:2]}")
    total = sum(sent.values())
    run.check(not bad, f"{what}: {', '.join(r.name for r in receivers)} each got every line of the others "
              f"({total} sent), in order, no echo", bad[:4])


async def chat(run, members, tag, n, what, pace=0.0):
    """Every member sends n numbered lines at once; every other member must get them all, in order."""
    await asyncio.gather(*(send_numbered(m, tag, n, pace) for m in members))
    await expect_lines(run, members, {m.name: n for m in members}, tag, what)


async def see_notice(run, members, text, what, timeout=5.0):
    for m in members:
        await m.wait_for(is_notice(text), f"'{text}'", timeout)
    run.check(True, f"{what}: {', '.join(m.name for m in members)} got '{text}'")


def check_lifetimes(run, crowd, what):
    """Every connection of crowd was closed at the handshake deadline: not before --handshake-timeout after we
    connected (the server's clock starts at its accept, a little later), not much after it plus a tick."""
    life = [e - o for o, e in zip(crowd.opened, crowd.ended) if e is not None]
    lo, hi = (min(life), max(life)) if life else (None, None)
    low, upper = HS_MS / 1000 - 0.05, HS_MS / 1000 + TICK + SLACK
    run.note(f"{what} lived {lo:.2f}-{hi:.2f} s (--handshake-timeout {HS_MS} ms)" if life else f"no {what} ended")
    run.check(len(life) == len(crowd.opened) and low <= lo and hi <= upper,
              f"{what} closed at the handshake deadline, {low:.2f}-{upper:.2f} s after connecting", (lo, hi))


# ---------------------------------------------------------------- 1: a thousand silent connections

async def s1_silent_thousand(run):
    # Room for the 1,000 and the members whatever the default --max-pending (1024 now).
    await run.start("--handshake-timeout", str(HS_MS), "--max-pending", str(SILENT + 100), "--rate", "0")
    crowd = await run.crowd(SILENT)
    run.note(f"{SILENT} connections opened in {crowd.opened[-1] - crowd.opened[0]:.2f} s")
    deadline = crowd.opened[0] + HS_MS / 1000 + TICK + SLACK + 1
    async with watching(crowd, deadline):
        n = await fds_reach(run.pid, lambda n: n >= run.base_fds + SILENT, 1.0)
        run.check(n >= run.base_fds + SILENT, f"the server holds all {SILENT} silent connections ({n} fds, "
                  f"baseline {run.base_fds})", n)
        members = [await run.member(name) for name in ("Alice", "Bob", "Carol")]
        first_end = crowd.first_end()
        run.check(first_end is None, f"Alice, Bob and Carol joined while all {SILENT} were still open "
                  f"({crowd.open_count()} open)", crowd.open_count())
        await chat(run, members, "s1", 20, f"3 members x 20 lines among {SILENT} silent connections")
        rss, _ = memory_kib(run.pid)
        run.note(f"VmRSS with {crowd.open_count()} silent connections open and 3 members: {rss} KiB "
                 f"(+{(rss - run.base_rss) / 1024:.1f} MiB, {(rss - run.base_rss) * 1024 / SILENT:.0f} bytes each)")
    hows = {h: crowd.how.count(h) for h in set(crowd.how)}
    run.check(hows == {"eof": SILENT}, f"all {SILENT} silent connections saw EOF from the server", hows)
    run.check(sum(crowd.received) == 0, "and nothing before it (no HTTP answer to a request never sent)",
              sum(crowd.received))
    check_lifetimes(run, crowd, "silent connections")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 2: slowloris

async def s2_slowloris(run):
    srv = await run.start("--handshake-timeout", str(HS_MS), "--rate", "0")
    request = upgrade_request(srv.port)
    crowd = await run.crowd(50)
    deadline = crowd.opened[0] + HS_MS / 1000 + TICK + SLACK + 1
    async with watching(crowd, deadline, request, 0.1) as watcher:
        await asyncio.sleep(0.3)
        alice, bob = await run.member("Alice"), await run.member("Bob")
        await chat(run, [alice, bob], "s2", 10, "Alice and Bob, 10 lines each, during the slowloris", pace=0.01)
        run.check(crowd.first_end() is None, f"they joined and chatted while all 50 slowloris connections were open "
                  f"({crowd.open_count()} open)", crowd.open_count())
    sent = watcher.result()
    hows = {h: crowd.how.count(h) for h in set(crowd.how)}
    run.check(crowd.open_count() == 0, "the server closed all 50 slowloris connections", hows)
    run.note(f"how they ended: {hows}; request bytes sent per connection {min(sent)}-{max(sent)} "
             f"of {len(request)}")
    run.check(max(sent) < len(request) and sum(crowd.received) == 0,
              "none had completed its upgrade request, and none got an answer", (max(sent), sum(crowd.received)))
    check_lifetimes(run, crowd, "slowloris connections")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 3: vanishing at bad moments

def noise_m1():
    hs, _ = initiator(DEMO_PSK)
    m1, _ = write_handshake(hs)
    return hs, m1


def vanish(port, how):
    """A raw client that upgrades, then stops at the moment `how` names and closes its socket (FIN)."""
    r = RawPeer("127.0.0.1", port)
    try:
        r.upgrade()
        hs, m1 = noise_m1()
        frame = masked_frame(2, m1)
        if how == "header":
            r.sendall(frame[:3])  # a 6-byte header (2 + mask): half of it
        elif how == "payload":
            r.sendall(frame[:6 + len(m1) // 2])
        else:
            r.sendall(frame)
            m2 = r.recv_binary("handshake message 2")
            if how == "m3":
                read_handshake(hs, m2)
                m3, _ = write_handshake(hs)
                frame3 = masked_frame(2, m3)
                r.sendall(frame3[:len(frame3) // 2])
    finally:
        r.close()


async def s3_bad_moments(run):
    srv = await run.start("--handshake-timeout", str(HS_MS), "--rate", "0")
    alice, bob = await run.member("Alice"), await run.member("Bob")
    await alice.wait_for(is_notice("Bob joined the chat"), "Bob's join")
    await chat(run, [alice, bob], "s3a", 3, "before the hostile clients")
    steps = (("header", "half of a frame header"), ("payload", "half of a frame's payload"),
             ("m1", "Noise message 1 (and reading message 2)"), ("m3", "half of Noise message 3"))
    for i, (how, what) in enumerate(steps):
        await asyncio.to_thread(vanish, srv.port, how)
        # Sooner than the 1.5 s handshake timeout: the server noticed the close itself.
        n = await fds_reach(run.pid, lambda n: n <= run.base_fds + 2, 1.0)
        run.check(n <= run.base_fds + 2, f"a client that closes after {what}: the server releases it at once "
                  f"({n} fds = baseline + the 2 members)", n)
        await chat(run, [alice, bob], f"s3b{i}", 3, f"after the client that stopped after {what}")

    # Rita is named, reads nothing, and resets her connection while the server still has a backlog for her:
    # not only in its socket's send buffer (the kernel lets that grow to megabytes on loopback) but in its own
    # output queue. Alice says 4 KB lines in batches until what was sent to Rita exceeds what the two kernel
    # buffers hold (the server's send queue, Rita's receive queue, from /proc/net/tcp) by 256 KiB; the default
    # --queue-limit (1 MiB) is not reached, so the server keeps writing to her.
    rita = await run.raw(rcvbuf=4096)
    await asyncio.to_thread(rita.member, "Rita")
    await see_notice(run, [alice, bob], "Rita joined the chat", "Rita (a raw member that never reads) joins")
    rita_port = rita.sock.getsockname()[1]
    lines, to_rita, backlog, queues = [], 0, 0, None
    while backlog < 256 * 1024 and to_rita < 8 << 20:
        for _ in range(25):
            line = f"s3c {len(lines):04d} " + "y" * 4000
            lines.append(line)
            await alice.say(line)
            # What the server writes to Rita: a 4-byte frame header, the JSON, the 16-byte AES-GCM tag.
            to_rita += 4 + len(original_json("Alice", line)) + 16
        await bob.wait_from("Alice", len(lines), "Alice's backlog lines", 10)
        await asyncio.sleep(0.02)  # Rita may be on another worker: let it take the batch too
        server_side, rita_side = tcp_queues(srv.port, rita_port), tcp_queues(rita_port, srv.port)
        if server_side is None or rita_side is None:
            raise Failure(f"no socket pair 127.0.0.1:{srv.port} <-> :{rita_port} in /proc/net/tcp")
        queues = (server_side[0], rita_side[1])
        backlog = to_rita - sum(queues)
    run.check(bob.lines_from("Alice", "s3c ") == lines, f"Bob got all {len(lines)} lines of 4 KB from Alice, in "
              "order, while Rita read nothing", len(bob.lines_from("Alice", "s3c ")))
    run.note(f"to Rita: {to_rita} bytes; in the server's socket send queue {queues[0]}, in Rita's receive queue "
             f"{queues[1]}: at least {backlog} still in the server's own queue")
    run.check(backlog >= 256 * 1024, f"the server is still writing Rita's backlog ({backlog // 1024} KiB in its own "
              "queue, more in the kernel's)", (to_rita, queues))
    run.check(not any(o and o.get("content") == "Rita left the chat" for o in alice.got + bob.got),
              "Rita was not dropped for her backlog before she reset")
    reset_close(rita.sock)
    await see_notice(run, [alice, bob], "Rita left the chat", "Rita resets (SO_LINGER 0) with her backlog unsent")
    await chat(run, [alice, bob], "s3d", 5, "after Rita's reset")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 4: a member that never reads

async def s4_never_reads(run):
    await run.start("--queue-limit", "65536", "--rate", "0")
    members = [await run.member(name) for name in ("Alice", "Bob", "Carol")]
    sloth = await run.raw(rcvbuf=4096)
    await asyncio.to_thread(sloth.member, "Sloth")
    await see_notice(run, members, "Sloth joined the chat", "Sloth (never reads, 4 KB receive buffer) joins")

    # Rounds: each of the three says one 4 KB line. A sender stays at most `window` rounds ahead of what the
    # others have read, so a reader that is merely slow (this one Python loop, a loaded machine) never has
    # 64 KiB waiting in the server; Sloth, who reads nothing, must overflow it. Stop once all three heard
    # that Sloth left, or at a cap far beyond what the kernel can buffer for Sloth.
    size, window, cap = 4000, 3, 1500
    left = is_notice("Sloth left the chat")
    scanned = {m.name: 0 for m in members}
    saw = set()

    def heard(m):
        """Whether m has got 'Sloth left the chat' (looking at the new messages only: the flood is long)."""
        for o in m.got[scanned[m.name]:]:
            if o is not None and left(o):
                saw.add(m.name)
        scanned[m.name] = len(m.got)
        return m.name in saw

    rounds = 0
    t0 = time.monotonic()
    while rounds < cap and not all(heard(m) for m in members):
        for m in members:
            await m.say(f"s4 {m.name} {rounds:04d} " + "z" * size)
        rounds += 1
        if rounds > window:
            for r in members:
                for s in members:
                    if s is not r:
                        await r.wait_from(s.name, rounds - window, f"{s.name}'s flood lines", 10)
    run.note(f"{rounds} rounds of 3 x {size} bytes in {time.monotonic() - t0:.1f} s")
    run.check(rounds < cap, f"Sloth was dropped after {rounds} rounds ({rounds * 3 * size // 1024} KiB said in "
              f"the room)", rounds)

    # Whole lines compared: "s4 NAME NNNN zzz...".
    want = {m.name: [f"s4 {m.name} {i:04d} " + "z" * size for i in range(rounds)] for m in members}
    for r in members:
        for s in members:
            if s is not r:
                await r.wait_from(s.name, rounds, f"{s.name}'s flood lines", 10)
    bad = [f"{r.name} from {s.name}: {len(r.lines_from(s.name, 's4 '))} of {rounds}"
           for r in members for s in members if s is not r and r.lines_from(s.name, "s4 ") != want[s.name]]
    run.check(not bad, f"Alice, Bob and Carol each got all {2 * rounds} flood lines of the other two, in order",
              bad)
    data, how = await asyncio.to_thread(sloth.read_to_end, 3.0)
    frames = split_frames(data)
    binaries = sum(1 for op, _ in frames if op == 2)
    run.check(how in ("eof", "reset") and binaries < 3 * rounds,
              f"the server disconnected Sloth ({how}; {binaries} of {3 * rounds} messages had reached it)",
              (how, binaries))
    closes = [p for op, p in frames if op == 8]
    if closes:
        run.check(closes[0][:2] == (1008).to_bytes(2, "big"), "Sloth's close frame carries 1008", closes[0])
    else:
        run.note("no close frame reached Sloth (the server closed the TCP connection with output still queued)")
    for m in members:
        await m.wait_for(left, "'Sloth left the chat'", 3)
    run.check(True, "Alice, Bob and Carol got 'Sloth left the chat'")
    errors = [o for m in members for o in m.server_messages("error")]
    run.check(not errors, "none of the three was refused anything", errors[:2])
    await chat(run, members, "s4b", 5, "after Sloth's drop")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 5: churn

async def churner(uri, i):
    name = f"churn{i:03d}"
    c = await ChatClient.member(uri, name)
    try:
        room = f"room{i % 5}"
        await c.say(f"/join {room}")
        want = f"{name} joined room {room}"
        for _ in range(400):  # lobby chat and other churners' notices may come first
            obj = json.loads(await c.recv(f"'{want}'"))
            if obj.get("content") == want and obj.get("type") == "join":
                break
        else:
            raise Failure(f"{name}: no '{want}' among 400 messages")
    except BaseException:
        await c.abort()
        raise
    if i % 3 == 2:
        await c.abort()  # every third one vanishes without a close frame
    else:
        await c.close()


async def s5_churn(run):
    srv = await run.start("--rate", "0")
    alice, bob, carol = [await run.member(name) for name in ("Alice", "Bob", "Carol")]
    await carol.command("/join keep", is_server("join", "Carol joined room keep"), "Carol's move to keep")

    # Alice and Bob keep chatting, a line each every 50 ms, for as long as the churn lasts.
    sent = {"Alice": 0, "Bob": 0}
    churning = True

    async def chatter(m):
        while churning and sent[m.name] < 999:
            await m.say(f"s5 {m.name} {sent[m.name]:03d}")
            sent[m.name] += 1
            await asyncio.sleep(0.05)

    async def churn_lane(first, total, step):
        for i in range(first, total, step):
            await churner(srv.uri, i)

    t0 = time.monotonic()
    chatters = [asyncio.create_task(chatter(m)) for m in (alice, bob)]
    try:
        await asyncio.gather(churn_lane(0, 300, 2), churn_lane(1, 300, 2))
    finally:
        churning = False
        await asyncio.gather(*chatters, return_exceptions=True)
    run.note(f"300 churn iterations (two at a time) in {time.monotonic() - t0:.1f} s; Alice and Bob said "
             f"{sent['Alice']} and {sent['Bob']} lines meanwhile")
    run.check(True, "300 clients connected, named themselves, moved to room0-4 and closed (every third with no "
              "close frame)")
    await expect_lines(run, [alice, bob], dict(sent), "s5", "Alice and Bob during the churn")
    errors = [o for m in (alice, bob, carol) for o in m.server_messages("error")]
    run.check(not errors, "Alice, Bob and Carol were refused nothing", errors[:2])
    rss, _ = memory_kib(run.pid)
    run.note(f"VmRSS right after the churn: {rss} KiB (+{(rss - run.base_rss) / 1024:.1f} MiB)")
    n = await fds_reach(run.pid, lambda n: n <= run.base_fds + 3, 3.0)
    run.check(n <= run.base_fds + 3, f"after the churn the server holds only the 3 members' descriptors ({n} fds)",
              n)
    # lib/server/registry.c: "Empty rooms disappear" when their last member leaves; /rooms lists the rest
    # sorted by name (server.c cmp_row).
    rooms = await alice.command("/rooms", is_server("system", "Rooms ("), "the answer to /rooms")
    want = "Rooms (2):\n  keep (1)\n  lobby (2)"
    run.check(rooms["content"] == want, f"/rooms lists only the rooms with members: {want!r}", rooms["content"])
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 6: message rate

RATE, BURST = 20, 40


async def s6_rate(run):
    await run.start("--rate", str(RATE), "--burst", str(BURST))
    bob, hal, flo = [await run.member(name) for name in ("Bob", "Hal", "Flo")]
    await bob.wait_for(is_notice("Flo joined the chat"), "Flo's join")
    await hal.wait_for(is_notice("Flo joined the chat"), "Flo's join")

    async def flood():
        """As fast as the socket takes them; returns how many lines went out before the server closed Flo."""
        sent = 0
        try:
            while sent < 2000:
                await flo.say(f"flood {sent:04d}")
                sent += 1
        except (websockets.ConnectionClosed, Failure):
            pass  # the server closed Flo: expected
        return sent

    # Hal: half the burst at once, then half the rate for 3 s. That is 50 lines > BURST in all, so he is
    # refused unless the bucket refills.
    async def hal_talks():
        await send_numbered(hal, "s6h", BURST // 2)
        for i in range(BURST // 2, BURST // 2 + 30):
            await asyncio.sleep(2.0 / RATE)
            await hal.say(f"s6h Hal {i:03d}")
        return BURST // 2 + 30

    t0 = time.monotonic()
    hal_task = asyncio.create_task(hal_talks())
    tried = await flood()
    code, reason = await flo.ended("its flood", 5)
    elapsed = flo.ended_at - t0
    run.note(f"Flo sent {tried} lines before the server closed it {elapsed:.2f} s after its first")
    run.check((code, reason) == (1008, "message rate exceeded"),
              "the flooder is closed with 1008 'message rate exceeded'", (code, reason))
    limit = BURST + RATE * elapsed + 1
    relayed = {}
    for m in (bob, hal):
        idx = relayed[m.name] = [int(c.split()[1]) for c in m.lines_from("Flo", "flood ")]
        shown = f"0-{BURST - 1}, then {idx[BURST:]}" if idx[:BURST] == list(range(BURST)) else idx
        run.note(f"{m.name} got {len(idx)} of Flo's lines (bound {limit:.1f}): {shown}")
        run.check(idx[:BURST] == list(range(BURST)) and len(idx) <= limit and idx == sorted(set(idx)),
                  f"{m.name} got Flo's first {BURST} lines in order, and no more than {BURST} + {RATE}/s x "
                  f"{elapsed:.2f} s + 1 in all", idx[:5] + ["..."] + idx[-5:] if len(idx) > 10 else idx)
    idx = relayed["Bob"]
    # Refused lines come in runs: when a token comes back during the flood (a loaded machine sends it slower
    # than the refill), one more line gets through and the refusals start again. The server tells the author
    # at the first refused line of every run (lib/server/chat.c within_rate), so: one error when the flood
    # outruns the refill, as it does on an idle machine; one more for each run of lines let through after a
    # refusal.
    # A run shorter than BURST must not close the flooder; the one that does is exactly BURST lines long.
    prefix = next((j for j, i in enumerate(idx) if i != j), len(idx))  # lines 0..prefix-1 got through
    later = idx[prefix:]
    runs = 1 + sum(1 for j, i in enumerate(later) if j == 0 or i != later[j - 1] + 1)
    gaps = [b - a - 1 for a, b in zip(idx, idx[1:]) if b - a > 1]
    errors = flo.server_messages("error")
    run.note(f"Flo's lines were refused in {runs} run(s) (of {gaps} lines, then {BURST}); it got {len(errors)} "
             "error(s)")
    run.check(len(errors) == runs and all(str(e.get("content")).startswith("Slow down:") for e in errors),
              f"it got one error whose content starts with 'Slow down:' per run of refused lines ({runs})",
              [e.get("content") for e in errors[:3]])
    run.check(all(g < BURST for g in gaps) and tried >= (idx[-1] if idx else -1) + BURST + 1,
              f"it was closed at the {BURST}th refused line in a row, not before", (gaps, tried, idx[-1:]))
    await see_notice(run, [bob, hal], "Flo left the chat", "after the flooder's close")
    hal_sent = await hal_task
    await expect_lines(run, [bob, hal], {"Hal": hal_sent}, "s6h", "Hal at half the rate (after half a burst)")
    run.check(not hal.server_messages("error"), "Hal was never refused", hal.server_messages("error")[:2])
    await chat(run, [bob, hal], "s6b", 5, "Bob and Hal after the flood")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 7: --max-pending

async def unnamed_ends(uri, port):
    """Connections that end before a name is accepted, in the ways they can: cut during the handshake, closed
    or dropped at the prompt, closed by the server after 5 bad names. Each must give its pending slot back."""
    await asyncio.to_thread(vanish, port, "m3")
    c = await ChatClient.secure(uri, "quitter")
    await c.recv("the prompt")
    await c.close()
    c = await ChatClient.secure(uri, "dropper")
    await c.recv("the prompt")
    await c.abort()
    c = await ChatClient.secure(uri, "misnamer")
    try:
        await c.recv("the prompt")
        for _ in range(5):
            await c.say("no spaces allowed")
        code, reason, _ = await c.closed("5 bad names")
        if (code, reason) != (1008, "too many invalid names"):
            raise Failure(f"after 5 bad names: close {code} {reason!r}")
    finally:
        await c.abort()


async def s7_max_pending(run):
    srv = await run.start("--max-pending", "20", "--handshake-timeout", str(HS_MS))
    alice, bob = await run.member("Alice"), await run.member("Bob")
    # First 5 x 4 unnamed connections come and go: if any kept its slot, fewer than 20 silent ones fit below.
    for _ in range(5):
        await unnamed_ends(srv.uri, srv.port)
    n = await fds_reach(run.pid, lambda n: n <= run.base_fds + 2, 3.0)
    run.check(n <= run.base_fds + 2, f"20 unnamed connections came and went (cut mid-handshake, closed or dropped "
              f"at the prompt, 5 bad names); the server released them ({n} fds)", n)
    crowd = await run.crowd(20)
    async with watching(crowd, crowd.opened[0] + HS_MS / 1000 + TICK + SLACK + 1):
        n = await fds_reach(run.pid, lambda n: n >= run.base_fds + 22, 1.0)
        run.check(n >= run.base_fds + 22, f"the server holds the 2 members and 20 silent connections ({n} fds)", n)
        extra = await run.raw()
        await asyncio.to_thread(extra.sendall, upgrade_request(srv.port))
        data, how = await asyncio.to_thread(extra.read_to_end, 3.0)
        run.check(data.startswith(b"HTTP/1.1 503 ") and how in ("eof", "reset"),
                  "the 21st unnamed connection gets 'HTTP/1.1 503 ...' and is closed", (data[:80], how))
        run.check(crowd.first_end() is None, "the 20 silent ones were all accepted (none closed yet): the 2 named "
                  "members and the 20 gone before do not count", crowd.open_count())
        await chat(run, [alice, bob], "s7a", 5, "Alice and Bob while 20 connections are pending")
    run.check(crowd.open_count() == 0, "the 20 silent connections are closed at the handshake deadline",
              crowd.open_count())
    carol = None
    for attempt in range(10):  # the server counts a closed connection out on a worker thread
        try:
            carol = await run.member("Carol")
            break
        except Failure:
            if attempt == 9:
                raise
            await asyncio.sleep(0.1)
    run.check(carol is not None, "after they timed out a new client is accepted and named")
    await chat(run, [alice, bob, carol], "s7b", 5, "with the newcomer")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 8: --name-timeout

NAME_MS = 1000


async def s8_name_timeout(run):
    srv = await run.start("--name-timeout", str(NAME_MS), "--handshake-timeout", str(HS_MS))
    alice, bob = await run.member("Alice"), await run.member("Bob")

    async def nemo():
        c = await ChatClient.secure(srv.uri, "Nemo")
        try:
            if await c.recv("the prompt") != PROMPT:
                raise Failure("Nemo: no prompt")
            t0 = time.monotonic()
            code, reason, got = await c.closed("never answering the prompt", NAME_MS / 1000 + TICK + SLACK + 1)
            return time.monotonic() - t0, code, reason, got
        finally:
            await c.abort()

    async def lena():
        """Answers the prompt after half the timeout: accepted."""
        c = await ChatClient.secure(srv.uri, "Lena")
        try:
            if await c.recv("the prompt") != PROMPT:
                raise Failure("Lena: no prompt")
            await asyncio.sleep(NAME_MS / 2000)
            await c.say("Lena")
            joined = await c.recv("Lena's join notice")
        except BaseException:
            await c.abort()
            raise
        return c, joined

    nemo_task = asyncio.create_task(nemo())
    c, joined = await lena()
    lena_m = run.adopt(c, "Lena")
    run.check(joined == original_json("Server", "Lena joined the chat"),
              f"a client that names itself {NAME_MS // 2} ms after the prompt is accepted", joined)
    await chat(run, [alice, bob, lena_m], "s8", 5, "while Nemo keeps silent")
    dt, code, reason, got = await nemo_task
    run.note(f"Nemo was closed {dt:.2f} s after the prompt")
    run.check((code, reason, got) == (1008, "no name given in time", []),
              "a client that never answers the prompt gets 1008 'no name given in time'", (code, reason, got))
    upper = NAME_MS / 1000 + TICK + SLACK
    run.check(NAME_MS / 1000 - 0.2 <= dt <= upper, f"after about {NAME_MS} ms ({dt:.2f} s after the prompt; "
              f"allowed {NAME_MS / 1000 - 0.2:.2f}-{upper:.2f} s)", dt)
    await chat(run, [alice, bob, lena_m], "s8b", 3, "after Nemo's close")
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 9: --max-rooms

def join_or_error(name, room):
    return lambda o: o.get("sender") == "Server" and (
        o.get("type") == "error" or (o.get("type") == "join" and o.get("content") == f"{name} joined room {room}"))


async def s9_max_rooms(run):
    await run.start("--max-rooms", "3")
    alice, bob, carol, dave = [await run.member(name) for name in ("Alice", "Bob", "Carol", "Dave")]
    for m, room in ((bob, "r1"), (carol, "r2")):
        got = await m.command(f"/join {room}", join_or_error(m.name, room), f"the answer to /join {room}")
        run.check(got.get("type") == "join", f"{m.name} creates room {room} (rooms: lobby + {room[1]})", got)
    got = await dave.command("/join r3", join_or_error("Dave", "r3"), "the answer to /join r3")
    run.check(got.get("type") == "error" and str(got.get("content")).startswith("Cannot create room"),
              "a /join that would make a 4th room gets an error 'Cannot create room...'", got)
    await chat(run, [alice, dave], "s9a", 3, "Dave is still in the lobby with Alice")
    run.check(not bob.lines_from("Dave", "s9a") and not carol.lines_from("Dave", "s9a"),
              "and his lines reach nobody in r1 or r2")
    got = await dave.command("/join r1", join_or_error("Dave", "r1"), "the answer to /join r1")
    run.check(got.get("type") == "join", "joining an existing room is still allowed at the limit", got)
    await chat(run, [bob, dave], "s9b", 3, "Bob and Dave in r1")
    # Carol leaves r2, which then disappears (registry.c), so a new room can be made again.
    got = await carol.command("/join lobby", join_or_error("Carol", "lobby"), "the answer to /join lobby")
    run.check(got.get("type") == "join", "Carol goes back to the lobby, leaving r2 empty", got)
    got = await dave.command("/join r4", join_or_error("Dave", "r4"), "the answer to /join r4")
    run.check(got.get("type") == "join", "once r2 is empty (gone), /join r4 creates a room again", got)
    await chat(run, [alice, carol], "s9c", 3, "Alice and Carol in the lobby")
    # The lobby keeps its slot while empty: newcomers must always have somewhere to go.
    for m, room in ((alice, "r1"), (carol, "r4")):
        got = await m.command(f"/join {room}", join_or_error(m.name, room), f"the answer to /join {room}")
        run.check(got.get("type") == "join", f"{m.name} moves to {room}, leaving the lobby empty", got)
    got = await bob.command("/join r6", join_or_error("Bob", "r6"), "the answer to /join r6")
    run.check(got.get("type") == "error" and str(got.get("content")).startswith("Cannot create room"),
              "with the lobby empty, r1 and r4 in use, /join r6 is still refused (the lobby's slot is kept)", got)
    frank = await run.member("Frank")  # fails the scenario unless he is named and joins
    got = await frank.command("/rooms", lambda o: o.get("sender") == "Server" and
                              str(o.get("content")).startswith("Rooms ("), "the answer to /rooms")
    run.check("lobby (1)" in str(got.get("content")) and "r6" not in str(got.get("content")),
              "a newcomer is admitted to the empty lobby, and /rooms shows it with r1 and r4 only", got)
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 10: --max-room-members

async def s10_max_room_members(run):
    srv = await run.start("--max-room-members", "2")
    alice, bob = await run.member("Alice"), await run.member("Bob")
    got = await alice.command("/join full", join_or_error("Alice", "full"), "the answer to /join full")
    run.check(got.get("type") == "join", "Alice moves to room 'full'", got)
    carol = await run.member("Carol")
    got = await bob.command("/join full", join_or_error("Bob", "full"), "the answer to /join full")
    run.check(got.get("type") == "join", "Bob moves to room 'full' (now 2 members)", got)
    dave = await run.member("Dave")  # the lobby: Carol and Dave
    got = await carol.command("/join full", join_or_error("Carol", "full"), "the answer to /join full")
    content = str(got.get("content"))
    run.check(got.get("type") == "error" and content.startswith("Room ") and "is full" in content,
              "a third member's /join full gets an error 'Room ... is full'", got)
    await chat(run, [carol, dave], "s10a", 3, "Carol is still in the lobby with Dave")
    await chat(run, [alice, bob], "s10b", 3, "Alice and Bob in 'full'")
    run.check(not alice.lines_from("Carol", "s10a") and not bob.lines_from("Carol", "s10a"),
              "Carol's lines did not reach room 'full'")

    eve = await ChatClient.secure(srv.uri, "Eve")
    try:
        if await eve.recv("the prompt") != PROMPT:
            raise Failure("Eve: no prompt")
        await eve.say("Eve")
        code, reason, got = await eve.closed("naming herself while the lobby is full")
    finally:
        await eve.abort()
    run.check((code, reason) == (1008, "room lobby is full"),
              "a newcomer named while the lobby is full is closed with 1008 'room lobby is full'", (code, reason, got))
    await chat(run, [carol, dave], "s10c", 3, "Carol and Dave after Eve")
    run.check(not any(o and "Eve" in str(o.get("content")) for o in carol.got + dave.got),
              "the lobby heard nothing of Eve", [o for o in carol.got + dave.got if o and "Eve" in str(o)][:2])
    await run.finish(rss_mib=16)


# ---------------------------------------------------------------- 11: --max-name-length

async def s11_max_name_length(run):
    srv = await run.start("--max-name-length", "8")
    c = await ChatClient.secure(srv.uri, "Ann")
    try:
        if await c.recv("the prompt") != PROMPT:
            raise Failure("no prompt")
        await c.say("NineBytes")
        raw = await c.recv("the answer to a 9-byte name")
        obj = json.loads(raw)
        refused = obj.get("sender") == "Server" and obj.get("type") == "error"
        asks = str(obj.get("content")).endswith("Please enter your name:")
        if refused and not asks:  # the prompt may also come as a message of its own
            asks = await c.recv("the prompt again") == PROMPT
        run.check(refused and asks, "a 9-byte name gets a type error from Server and the prompt again", raw)
        if not refused:
            raise Failure("the 9-byte name was accepted")
        await c.say("EightByt")
        joined = await c.recv("the answer to an 8-byte name")
        run.check(joined == original_json("Server", "EightByt joined the chat"), "an 8-byte name is accepted",
                  joined)
    except BaseException:
        await c.abort()
        raise
    ann = run.adopt(c, "EightByt")
    bob = await run.member("Bob")
    await chat(run, [ann, bob], "s11", 3, "EightByt and Bob")
    await run.finish(rss_mib=16)


SCENARIOS = [
    ("1", "1,000 silent connections", s1_silent_thousand),
    ("2", "slowloris", s2_slowloris),
    ("3", "disconnects at bad moments", s3_bad_moments),
    ("4", "a member that never reads", s4_never_reads),
    ("5", "churn", s5_churn),
    ("6", "--rate/--burst", s6_rate),
    ("7", "--max-pending", s7_max_pending),
    ("8", "--name-timeout", s8_name_timeout),
    ("9", "--max-rooms", s9_max_rooms),
    ("10", "--max-room-members", s10_max_room_members),
    ("11", "--max-name-length", s11_max_name_length),
]


async def run_all(args):
    # A SIGTERM (the shell's timeout) cancels the run; the finally clauses still kill the servers.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    for key, title, fn in SCENARIOS:
        if args.only and key not in args.only:
            continue
        tag = f"S{key}"
        print(f"# {tag}: {title}", flush=True)
        run = Run(tag, args)
        budget = CHURN_BUDGET if fn is s5_churn else SCENARIO_BUDGET
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(fn(run), budget)
        except asyncio.TimeoutError:
            R.check(tag, False, f"the scenario did not finish within {budget:g} s")
        except Failure as exc:
            R.check(tag, False, f"stopped: {exc}")
        except Exception as exc:  # anything unexpected (ConnectionClosed, OSError...) fails too
            R.check(tag, False, f"stopped: {type(exc).__name__}: {exc}")
        finally:
            await run.cleanup()
        print(f"# {tag}: {time.monotonic() - t0:.1f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--only", action="append", help="run only scenario N (repeatable; for debugging)")
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        soft, hard = raise_nofile(SILENT + 500)  # the silent crowd, the members, and the server (it inherits)
        print(f"# RLIMIT_NOFILE soft {soft}, hard {hard}")
    except Failure as exc:
        R.check("setup", False, str(exc))
        return 1
    try:
        asyncio.run(asyncio.wait_for(run_all(args), OVERALL))
    except asyncio.TimeoutError:
        R.check("run", False, f"the whole run took over {OVERALL:g} s")
    except asyncio.CancelledError:
        R.check("run", False, "stopped by SIGTERM")
    print(f"# hostile e2e: {R.passed} checks passed, {len(R.failed)} failed, in {time.monotonic() - t0:.1f} s")
    for f in R.failed:
        print(f"#   FAILED {f}")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
