#!/usr/bin/python3
"""secchat-server --authorized-keys: the allow-list of client keys, name binding and SIGHUP reloads.

Run by tests/server/test_trust_e2e.sh as
    /usr/bin/python3 -B tests/server/trust_e2e.py --server BUILD/apps/secchat-server --dir TMP --pids TMP/pids

Starts its own servers (--listen 127.0.0.1:0 --demo-psk), writes each one's process id to --pids (so the .sh
can kill any a crash or timeout left behind) and always kills them. Client keys are dissononce key pairs, the
clients chatpeer.py's ChatClient with a chosen static key. What is checked is the "keys and trust" addition to
/tmp/spec/server-contract.md:
(a) allow-list: listed A and C join; unlisted B completes the handshake, then gets close 1008
    "key not authorized" with no application message (no prompt); the console says
    "Refused ADDR: key FP is not in the authorized keys"; A and C keep chatting and hear nothing of B.
(b) name binding: a key listed with NAME gets the type "error" re-prompt
    "This key may only use the name 'NAME'. Please enter your name:" for another name, and joins with NAME
    in any case.
(c) SIGHUP reload: "Reloaded N authorized keys from FILE"; B, added, is admitted; A, removed, stays connected
    and chatting, but its next connection is refused.
(d) a malformed file on reload: an error on stderr, no "Reloaded" line, the previous list kept.
(e) a malformed file at start: exit 1, "FILE line N: ..." on stderr; a missing file: exit 1.
(f) SIGHUP without --authorized-keys: "SIGHUP: no --authorized-keys file to reload"; members stay, the server
    runs on and admits anyone with the PSK.
Each part runs even when an earlier one failed; a part stops at its first failure. Every wait is bounded.
One "ok" line per check, then "trust e2e: N checks passed"; exit status 1 on any failure.
"""
import argparse
import asyncio
import base64
import os
import signal
import sys

try:
    # chatpeer imports python3-websockets and python3-dissononce
    from chatpeer import (DEMO_PSK, DH, FACTORY, PROMPT, PROTOCOL, ChatClient, Failure, ServerProc, Tally,
                          bounded, fingerprint, original_json, parse_part2, short, try_part2)
except ImportError as exc:
    print(f"FAIL cannot import websockets/dissononce ({exc}): install python3-websockets python3-dissononce "
          "and run with /usr/bin/python3")
    sys.exit(1)

PART_BUDGET = 20.0  # seconds, for one part
OVERALL = 75.0  # seconds, for the whole run (the .sh's timeout is the backstop)
BIND_REPROMPT = "This key may only use the name '{}'. Please enter your name:"
t = Tally()


class KeyedClient(ChatClient):
    """A ChatClient whose static key is chosen (ChatClient makes a fresh one per connection)."""

    keypair = None

    async def send_m1(self, psk):
        proto = FACTORY.get_noise_protocol(PROTOCOL)
        self.hs = proto.create_handshakestate()
        self.static = self.keypair
        self.hs.initialize(proto.pattern, True, b"", s=self.keypair, psks=[psk])
        buf = bytearray()
        self.hs.write_message(b"", buf)
        await bounded(self.ws.send(bytes(buf)), f"{self.label} to send handshake message 1")


PIDS = None  # the --pids file


class TrackedServer(ServerProc):
    """A ServerProc whose process id is recorded the moment it exists (before its first console line), so the
    .sh can kill it even if this script dies while the server is starting."""

    def __init__(self, proc):
        super().__init__(proc)
        record_pid(proc.pid)


def record_pid(pid):
    with open(PIDS, "a") as f:
        f.write(f"{pid}\n")


class Key:
    """A client identity: its X25519 key pair, base64 public key and fingerprint."""

    def __init__(self, label):
        self.label = label
        self.pair = DH.generate_keypair()
        self.b64 = base64.b64encode(self.pair.public.data).decode()
        self.fp = fingerprint(self.pair.public.data)


class Scope:
    """What a part opened; closed or killed when the part ends, however it ends."""

    def __init__(self, args):
        self.args = args
        self.clients, self.servers = [], []

    async def server(self, *extra):
        srv = await TrackedServer.start(self.args.server, "--listen", "127.0.0.1:0", "--demo-psk", *extra)
        self.servers.append(srv)
        return srv

    async def secure(self, srv, key, label=None):
        """Connects with key's static key and completes the Noise handshake."""
        c = await KeyedClient.connect(srv.uri, label or key.label)
        self.clients.append(c)
        c.keypair = key.pair
        await c.handshake(DEMO_PSK)
        return c

    async def member(self, srv, key, name=None):
        """Handshake, prompt and name; the prompt and the join notice are checked byte for byte."""
        c = await self.secure(srv, key, name or key.label)
        prompt = await c.recv("the name prompt")
        if prompt != PROMPT:
            raise Failure(f"{c.label}: prompt {short(prompt)}, want {PROMPT!r}")
        await c.say(name or key.label)
        joined = await c.recv("its join notice")
        want = original_json("Server", f"{name or key.label} joined the chat")
        if joined != want:
            raise Failure(f"{c.label}: join notice {short(joined)}, want {want!r}")
        return c

    def dump(self):
        for srv in self.servers:
            print(f"  console of {srv.first!r} (last 15 lines):")
            for line in srv.lines[-15:]:
                print(f"    {short(line, 160)}")
            err = srv.stderr().strip().splitlines()
            if err:
                print("  its stderr (last 10 lines):")
                for line in err[-10:]:
                    print(f"    {line}")

    async def cleanup(self):
        for c in self.clients:
            await c.close()
        for srv in self.servers:
            await srv.stop()


def write_keys(path, lines):
    """Writes the allow-list whole (temporary file and rename), so a reload never reads half of it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    os.replace(tmp, path)


async def expect_refused(srv, c, key, what):
    """c (key's static key) has just sent handshake message 3: the server must close it with 1008
    "key not authorized" before any application message and print the Refused line."""
    code, reason, got = await c.closed(what)
    t.check(code == 1008 and reason == "key not authorized" and got == [],
            f"{what}: handshake done, then close 1008 \"key not authorized\" with no message before it (no prompt)",
            (code, reason, [short(m, 80) for m in got]))
    line = f"Refused 127.0.0.1:{c.local_port}: key {key.fp} is not in the authorized keys"
    t.check(await srv.has_line(line), f"{what}: console {line!r}",
            [x for x in srv.lines if x.startswith("Refused")][-3:])


async def chatting(a, b, what):
    """a and b, both members of the lobby, still exchange lines (and nothing else arrived before)."""
    for x, y in ((a, b), (b, a)):
        text = f"{x.label} to {y.label}: {what}"
        await x.say(text)
        got = await y.recv(f"{x.label}'s line")
        t.check(got == original_json(x.label, text), f"{what}: {x.label}'s line reaches {y.label}", got)


async def reload(srv, n, path, what):
    """SIGHUP, then the console line for a good file."""
    srv.proc.send_signal(signal.SIGHUP)
    line = f"Reloaded {n} authorized keys from {path}"
    t.check(await srv.has_line(line), f"{what}: SIGHUP prints {line!r}",
            srv.lines[-5:])
    srv.lines.remove(line)  # a later reload must print its own line


# ---------------------------------------------------------------- (a) allow-list

async def part_allow(scope, args):
    a, b, c = Key("Alice"), Key("Bob"), Key("Carol")
    path = f"{args.dir}/allow-a"
    write_keys(path, ["# Alice and Carol may join", a.b64, "", f"{c.b64}"])
    srv = await scope.server("--authorized-keys", path)
    alice = await scope.member(srv, a)
    t.check(True, "(a) listed Alice completes the handshake, gets the prompt and joins")
    carol = await scope.member(srv, c)
    joined = await alice.recv("Carol's join notice")
    t.check(joined == original_json("Server", "Carol joined the chat"), "(a) listed Carol joins; Alice sees it",
            joined)

    bob = await scope.secure(srv, b)
    await expect_refused(srv, bob, b, "(a) unlisted Bob")

    await chatting(alice, carol, "(a) after Bob's refusal")
    for x in (alice, carol):
        before = await x.rooms_barrier()
        t.check(before == [], f"(a) {x.label} heard nothing of Bob (no join or leave notice)", before)
    # A refused key does not become a member.
    before, who = await alice.command("/who", lambda o: o["type"] == "system" and o["content"].startswith("Members"),
                                      "the answer to /who")
    want = f"Members of room lobby (2):\n  Alice  {a.fp}\n  Carol  {c.fp}"
    t.check(before == [] and who["content"] == want, "(a) /who lists Alice and Carol only", who)


# ---------------------------------------------------------------- (b) name binding

async def part_names(scope, args):
    n, free = Key("Nina"), Key("Free")
    path = f"{args.dir}/allow-b"
    write_keys(path, [f"{n.b64} Nina", free.b64])
    srv = await scope.server("--authorized-keys", path)

    c = await scope.secure(srv, n, "Nina#1")
    t.check(await c.recv("the prompt") == PROMPT, "(b) key bound to Nina: the prompt")
    for other in ("Mallory", "Nina2"):
        await c.say(other)
        err = parse_part2(await c.recv(f"the answer to {other!r}"), f"the answer to {other!r}")
        t.check(err["type"] == "error" and err["sender"] == "Server"
                and err["content"] == BIND_REPROMPT.format("Nina"),
                f"(b) key bound to Nina answers {other!r}: type error "
                f"{BIND_REPROMPT.format('Nina')!r}", err)
    await c.say("Nina")
    joined = await c.recv("the join notice")
    t.check(joined == original_json("Server", "Nina joined the chat"),
            "(b) then 'Nina' is accepted: 'Nina joined the chat'", joined)
    await c.close()

    c = await scope.secure(srv, n, "Nina#2")
    t.check(await c.recv("the prompt") == PROMPT, "(b) Nina's key again: the prompt")
    await c.say("nINA")
    joined = await c.recv("the join notice")
    t.check(joined in (original_json("Server", "nINA joined the chat"), original_json("Server", "Nina joined the chat")),
            "(b) the bound name in another case ('nINA') is accepted (case-insensitive)", joined)

    # A key listed without a name may pick any free name.
    f = await scope.member(srv, free, "Whoever")
    t.check(True, "(b) a key listed without a name joins as 'Whoever'")
    await f.close()


# ---------------------------------------------------------------- (c) SIGHUP reload

async def part_reload(scope, args):
    a, b, d = Key("Alice"), Key("Bob"), Key("Dora")
    path = f"{args.dir}/allow-c"
    write_keys(path, [a.b64, d.b64])
    srv = await scope.server("--authorized-keys", path)
    alice = await scope.member(srv, a)
    bob = await scope.secure(srv, b, "Bob#1")
    await expect_refused(srv, bob, b, "(c) before the reload, unlisted Bob")

    write_keys(path, ["# Bob added", a.b64, b.b64, d.b64])
    await reload(srv, 3, path, "(c) Bob added")
    bob = await scope.member(srv, b)
    t.check(True, "(c) after the reload Bob is admitted and joins")
    got = await alice.recv("Bob's join notice")
    t.check(got == original_json("Server", "Bob joined the chat"), "(c) Alice, connected across the reload, "
            "sees Bob join", got)

    write_keys(path, [b.b64, d.b64])
    await reload(srv, 2, path, "(c) Alice removed")
    await chatting(alice, bob, "(c) Alice removed from the file and reloaded: Alice stays connected")
    alice2 = await scope.secure(srv, a, "Alice#2")
    await expect_refused(srv, alice2, a, "(c) Alice's next connection")
    await chatting(alice, bob, "(c) after Alice's second connection was refused")


# ---------------------------------------------------------------- (d) malformed file on reload

async def part_bad_reload(scope, args):
    a, b = Key("Alice"), Key("Bob")
    path = f"{args.dir}/allow-d"
    write_keys(path, [a.b64])
    srv = await scope.server("--authorized-keys", path)
    alice = await scope.member(srv, a)

    # Bob's line is fine, line 3 is not: nothing of the new file may be taken.
    write_keys(path, ["# broken", b.b64, "this is not a key"])
    err_before = len(srv.err)
    lines_before = len(srv.lines)
    srv.proc.send_signal(signal.SIGHUP)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while len(srv.err) == err_before and loop.time() < deadline:
        await asyncio.sleep(0.05)
    new_err = bytes(srv.err[err_before:]).decode("utf-8", "replace")
    t.check(new_err.strip() != "", "(d) SIGHUP with a malformed file: an error on stderr", new_err)
    if path in new_err and "line 3" in new_err:
        print(f"note: (d) the reload error names the file and line 3: {new_err.strip()!r}")
    await asyncio.sleep(0.1)  # a wrong "Reloaded" line would come right after the error
    reloaded = [x for x in srv.lines[lines_before:] if x.startswith("Reloaded")]
    t.check(reloaded == [], "(d) and no 'Reloaded' line on the console", reloaded)
    t.check(srv.proc.returncode is None, "(d) the server keeps running")

    await alice.say("/rooms")
    got = try_part2(await alice.recv("the answer to /rooms"))
    t.check(got is not None and got["type"] == "system", "(d) Alice, connected before, is still served", got)
    bob = await scope.secure(srv, b)
    await expect_refused(srv, bob, b, "(d) the previous list is kept: Bob (only in the broken file)")
    alice2 = await scope.member(srv, a, "Alice2")
    t.check(True, "(d) the previous list is kept: Alice's key is admitted on a new connection")
    got = await alice.recv("Alice2's join notice")
    t.check(got == original_json("Server", "Alice2 joined the chat"), "(d) Alice sees Alice2 join", got)
    await alice2.close()

    write_keys(path, [a.b64, b.b64])
    await reload(srv, 2, path, "(d) the file fixed")
    await scope.member(srv, b)
    t.check(True, "(d) after the fixed file is reloaded, Bob joins")


# ---------------------------------------------------------------- (e) bad files at start

async def run_program(args, *extra):
    """Runs the server to its exit (bounded); returns (status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(args.server, "--listen", "127.0.0.1:0", "--demo-psk", *extra,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    record_pid(proc.pid)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 5)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None, b"", b"(still running after 5 s; killed)"
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def part_start(scope, args):
    a = Key("Alice")
    cases = (
        ("a line that is not a key", ["# comment", a.b64, "", "not-a-key Bob"], 4),
        ("a key of 31 bytes", [base64.b64encode(os.urandom(31)).decode()], 1),
        ("a name with a control character", [f"{a.b64} Al\x01ce"], 1),
    )
    for i, (why, lines, bad) in enumerate(cases):
        path = f"{args.dir}/bad-start-{i}"
        write_keys(path, lines)
        status, out, err = await run_program(args, "--authorized-keys", path)
        t.check(status == 1 and f"{path} line {bad}: " in err,
                f"(e) malformed file at start ({why}, line {bad}): exit 1, stderr names '{path} line {bad}: ...'",
                (status, out[-200:], err[-300:]))
        t.check("Server listening on:" not in out, "(e) and the server never listened", out[-200:])
    path = f"{args.dir}/no-such-file"
    status, out, err = await run_program(args, "--authorized-keys", path)
    t.check(status == 1 and err.strip() != "" and "Server listening on:" not in out,
            "(e) missing --authorized-keys file at start: exit 1 with a message, never listening",
            (status, out[-200:], err[-300:]))


# ---------------------------------------------------------------- (f) SIGHUP without the option

async def part_no_option(scope, args):
    srv = await scope.server()
    first = await scope.member(srv, Key("Alice"))
    err_before = len(srv.err)
    srv.proc.send_signal(signal.SIGHUP)
    msg = "SIGHUP: no --authorized-keys file to reload"
    t.check(await srv.has_line(msg), f"(f) SIGHUP without --authorized-keys: console {msg!r}", srv.lines[-5:])
    t.check(srv.proc.returncode is None and srv.err[err_before:] == b"",
            "(f) the server keeps running, nothing on stderr", bytes(srv.err[err_before:]))
    second = await scope.member(srv, Key("Bob"))
    got = await first.recv("Bob's join notice")
    t.check(got == original_json("Server", "Bob joined the chat"),
            "(f) any key with the PSK still joins; Alice, connected across the SIGHUP, sees it", got)
    await chatting(first, second, "(f) after SIGHUP")
    seen = len(srv.lines)
    srv.proc.send_signal(signal.SIGHUP)
    try:
        await srv.console(lambda i, line: i >= seen and line == msg, repr(msg))
        again = True
    except Failure:
        again = False
    t.check(again, "(f) a second SIGHUP prints it again", srv.lines[-5:])
    t.check(srv.proc.returncode is None, "(f) still running")


PARTS = [
    ("allow-list", part_allow),
    ("name binding", part_names),
    ("reload", part_reload),
    ("malformed reload", part_bad_reload),
    ("bad files at start", part_start),
    ("SIGHUP without the option", part_no_option),
]


async def run(args):
    failures = []
    for name, part in PARTS:
        if args.only and name not in args.only:
            continue
        scope = Scope(args)
        try:
            await asyncio.wait_for(part(scope, args), PART_BUDGET)
        except asyncio.TimeoutError:
            failures.append(f"{name}: the part took over {PART_BUDGET:.0f} s")
        except Failure as exc:
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # any surprise (ConnectionClosed, DecryptFailedException, OSError...) fails
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        finally:
            await scope.cleanup()
        if failures and failures[-1].startswith(name + ":"):
            print(f"FAIL ({name}) {failures[-1][len(name) + 2:]}", flush=True)
            scope.dump()
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--dir", required=True, help="a private temporary directory for the key lists")
    ap.add_argument("--pids", required=True, help="file to append each started server's process id to")
    ap.add_argument("--only", action="append", help="run only this part (repeatable; for debugging)")
    args = ap.parse_args()
    global PIDS
    PIDS = args.pids
    try:
        failures = asyncio.run(asyncio.wait_for(run(args), OVERALL))
    except asyncio.TimeoutError:
        failures = [f"the run took over {OVERALL:.0f} s"]
        print(f"FAIL {failures[0]}")
    if failures:
        print(f"trust e2e: {t.passed} checks passed, {len(failures)} parts FAILED:")
        for f in failures:
            print(f"  {f}")
        return 1
    print(f"trust e2e: {t.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
