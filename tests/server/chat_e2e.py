#!/usr/bin/python3
"""End-to-end tests of the chat server program against independent clients.

Run by tests/server/test_chat_e2e.sh, which starts the main server
(--listen 127.0.0.1:0 --demo-psk, stdin at EOF) and then
    /usr/bin/python3 -B tests/server/chat_e2e.py --server BUILD/apps/secchat-server --port PORT --pid PID

The clients (tests/server/chatpeer.py) are the original client at protocol
level: python3-websockets, python3-dissononce, serde_json's bytes. What is
checked is /tmp/spec/server-contract.md (the server's contract) and
docs/protocol.md:
(0) flags: exit 2 on a bad flag, 1 when the port is taken.
(1) on the main server: prompt, join, chat, leave bytes; no echo; /who /msg /join /rooms /help // /me;
    unknown commands; name rules; 5 bad names -> 1008.
(2) the operator's stdin and console (a server of its own).
(3) hostile and broken clients while two good ones keep chatting (--handshake-timeout 1000 --queue-limit 65536
    --rate 0).
(4) SIGTERM and SIGINT: 1001 "server shutting down" to every client, exit 0.
(5) a client over ::1.
(6) --psk-file, --key-file, SECCHAT_PSK_FILE, the PSK and key created on first start, bad key files,
    --max-clients.
Each part is run even when an earlier one failed; a part stops at its first failure. Every await is bounded
(chatpeer.TIMEOUT); the servers started here are killed at the end. One "ok" line per check, then
"chat e2e: N checks passed"; exit status 1 on any failure.
"""
import argparse
import asyncio
import base64
import os
import signal
import socket
import sys
import tempfile
import time

try:
    import websockets
    from chatpeer import (DEMO_PSK, DH, PROMPT, ChatClient, DecryptFailedException, Failure, RawPeer, ServerProc,
                          Tally, bounded, fingerprint, original_json, parse_part2, read_handshake, short, split_frames,
                          write_handshake)
except ImportError as exc:  # reported by test_chat_e2e.sh too
    print(f"FAIL cannot import websockets/dissononce ({exc}): install python3-websockets python3-dissononce "
          "and run with /usr/bin/python3")
    sys.exit(1)

PART_BUDGET = 25.0  # seconds, for one part (the flood is the longest)
OVERALL = 60.0  # seconds, for the whole run
t = Tally()


class Scope:
    """What a part opened; all of it is closed or killed when the part ends, however it ends."""

    def __init__(self):
        self.clients, self.servers, self.raws = [], [], []

    async def secure(self, uri, label, psk=DEMO_PSK):
        c = await ChatClient.secure(uri, label, psk)
        self.clients.append(c)
        return c

    async def connect(self, uri, label):
        c = await ChatClient.connect(uri, label)
        self.clients.append(c)
        return c

    async def member(self, uri, name, psk=DEMO_PSK):
        c = await ChatClient.member(uri, name, psk=psk)
        self.clients.append(c)
        return c

    async def server(self, path, *args, stdin=False, env=None):
        srv = await ServerProc.start(path, *args, stdin=stdin, env=env)
        self.servers.append(srv)
        return srv

    async def raw(self, host, port, rcvbuf=None):
        r = await asyncio.to_thread(RawPeer, host, port, rcvbuf)
        self.raws.append(r)
        return r

    def dump(self):
        """The consoles of this part's servers, for a failure report."""
        for srv in self.servers:
            keep = len(srv.lines) if os.environ.get("CHAT_E2E_CONSOLES") == "all" else 15
            print(f"  console of {srv.first!r} (last {keep} lines):")
            for line in srv.lines[-keep:]:
                print(f"    {short(line, 160)}")
            err = srv.stderr().strip().splitlines()
            if err:
                print("  its stderr (last 10 lines):")
                for line in err[-10:]:
                    print(f"    {line}")

    async def cleanup(self):
        for c in self.clients:
            await c.close()
        for r in self.raws:
            r.close()
        for srv in self.servers:
            await srv.stop()


async def http_exchange(scope, port, request):
    """Sends request on a new TCP connection; returns (everything the server wrote, how it ended)."""
    r = await scope.raw("127.0.0.1", port)
    await asyncio.to_thread(r.sendall, request)
    return await asyncio.to_thread(r.read_to_end)


def is_type(kind, prefix=""):
    return lambda o: o["type"] == kind and o["content"].startswith(prefix)


async def expect_exact(client, want, what):
    got = await client.recv(what)
    t.check(got == want, what, got)


async def recv_part2(client, what):
    return parse_part2(await client.recv(what), f"{client.label}: {what}")


# ---------------------------------------------------------------- (0) flags

async def run_program(path, *args):
    proc = await asyncio.create_subprocess_exec(path, *args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 5)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None, b"", b"(still running after 5 s)"
    return proc.returncode, out, err


async def part_flags(scope, args):
    status, out, err = await run_program(args.server, "--no-such-flag")
    t.check(status == 2, "(0) an unknown flag: exit status 2", (status, err[-300:]))
    status, out, err = await run_program(args.server, "--listen", f"127.0.0.1:{args.port}", "--demo-psk", "--quiet")
    t.check(status == 1, f"(0) --listen on the main server's busy port {args.port}: exit status 1",
            (status, out[-200:], err[-300:]))


# ---------------------------------------------------------------- (1) the main server

async def part_room(scope, args):
    uri = f"ws://127.0.0.1:{args.port}/"
    join = lambda name: original_json("Server", f"{name} joined the chat")  # noqa: E731

    alice = await scope.secure(uri, "Alice")
    wire = await alice.recv_wire("the name prompt")
    prompt = alice.recv_cs.decrypt_with_ad(b"", wire)
    t.check(prompt == PROMPT and len(wire) == len(PROMPT) + 16,
            f"(1) after the handshake: the prompt {PROMPT.decode()} byte for byte, one transport message", prompt)
    await alice.say("Alice")
    await expect_exact(alice, join("Alice"), "(1) Alice gets her own join notice, byte for byte")

    bob = await scope.secure(uri, "Bob")
    t.check(await bob.recv("the prompt") == PROMPT, "(1) Bob gets the prompt")
    await bob.say("Bob")
    await expect_exact(bob, join("Bob"), "(1) Bob gets his own join notice")
    await expect_exact(alice, join("Bob"), "(1) Alice, already in, gets 'Bob joined the chat' byte for byte")

    carol = await scope.secure(uri, "Carol")
    t.check(await carol.recv("the prompt") == PROMPT, "(1) Carol gets the prompt")
    await carol.say("Carol")
    await expect_exact(carol, join("Carol"), "(1) Carol gets her own join notice")
    await expect_exact(alice, join("Carol"), "(1) Alice gets 'Carol joined the chat'")
    await expect_exact(bob, join("Carol"), "(1) Bob gets 'Carol joined the chat'")

    await alice.say("Hello everyone!")
    want = original_json("Alice", "Hello everyone!")
    await expect_exact(bob, want, '(1) Alice\'s line reaches Bob as {"sender":"Alice","content":"Hello everyone!"}')
    await expect_exact(carol, want, "(1) and Carol, byte for byte")
    tricky = 'she said "hi" \\ tab\t nl\n \x01 caf\u00e9 \U0001F600 </b> \x7f'
    await alice.say(tricky)
    want = original_json("Alice", tricky)
    await expect_exact(bob, want, "(1) a line with quotes, \\, \\t, \\n, U+0001, e-acute, emoji, /, DEL reaches Bob "
                       "in serde_json's escaping")
    await expect_exact(carol, want, "(1) and Carol")

    fp = {c.label: c.fingerprint for c in (alice, bob, carol)}
    before, who = await alice.command("/who", is_type("system", "Members of room"), "the answer to /who")
    t.check(before == [], "(1) no echo: the next thing Alice gets after her two lines is the /who answer", before)
    want = (f"Members of room lobby (3):\n  Alice  {fp['Alice']}\n  Bob  {fp['Bob']}\n  Carol  {fp['Carol']}")
    t.check(who["content"] == want and who["sender"] == "Server",
            "(1) /who: type system from Server, the lobby's 3 members sorted, with their key fingerprints", who)

    await alice.say("/msg Bob psst, just you")
    dm = await recv_part2(bob, "the /msg")
    t.check(list(dm) == ["sender", "content", "type", "to", "ts"] and
            (dm["sender"], dm["content"], dm["type"], dm["to"]) == ("Alice", "psst, just you", "dm", "Bob"),
            '(1) /msg Bob: Bob gets {"sender":"Alice","content":"psst, just you","type":"dm","to":"Bob","ts":..}', dm)
    await alice.rooms_barrier()  # Alice may get a copy of her message; the contract leaves that open
    t.check(await carol.rooms_barrier() == [], "(1) /msg Bob: Carol gets nothing")
    before, err = await alice.command("/msg Nobody hello?", lambda o: True, "the answer to /msg Nobody")
    t.check(before == [] and err["type"] == "error", "(1) /msg to an unknown name: type error to the author", err)

    await carol.say("/join dev")
    joined = await recv_part2(carol, "the /join answer")
    t.check((joined["type"], joined["content"], joined.get("room")) == ("join", "Carol joined room dev", "dev"),
            '(1) /join dev: Carol gets type join "Carol joined room dev" with room dev', joined)
    for c in (alice, bob):
        left = await recv_part2(c, "the /join leave notice")
        t.check((left["type"], left["content"]) == ("leave", "Carol went to room dev"),
                f'(1) /join dev: {c.label}, left behind, gets type leave "Carol went to room dev"', left)

    await alice.say("lobby only")
    await expect_exact(bob, original_json("Alice", "lobby only"), "(1) after /join: Alice's line still reaches Bob")
    before, who = await carol.command("/who", is_type("system", "Members of room"), "the answer to /who")
    t.check(before == [], "(1) after /join: Alice's lobby line does not reach Carol in dev", before)
    t.check(who["content"] == f"Members of room dev (1):\n  Carol  {fp['Carol']}", "(1) /who in dev lists Carol alone",
            who)
    await carol.say("dev only")
    await carol.rooms_barrier()
    await asyncio.sleep(0.2)  # the fan-out may cross worker threads; give a wrong delivery time to show up
    before, who = await bob.command("/who", is_type("system", "Members of room"), "the answer to /who")
    lobby = f"Members of room lobby (2):\n  Alice  {fp['Alice']}\n  Bob  {fp['Bob']}"
    t.check(before == [] and who["content"] == lobby,
            "(1) Carol's line in dev does not reach Bob; /who in the lobby lists Alice and Bob", (before, who))
    t.check(await alice.rooms_barrier() == [], "(1) nor Alice")

    before, rooms = await alice.command("/rooms", is_type("system", "Rooms ("), "the answer to /rooms")
    t.check(before == [] and rooms["content"] == "Rooms (2):\n  dev (1)\n  lobby (2)",
            '(1) /rooms: type system "Rooms (2):\\n  dev (1)\\n  lobby (2)"', rooms)
    before, hlp = await alice.command("/help", lambda o: True, "the answer to /help")
    missing = [c for c in ("/msg", "/join", "/who", "/rooms", "/help", "/me") if c not in hlp["content"]]
    t.check(before == [] and hlp["type"] == "system" and not missing,
            "(1) /help: type system naming /msg /join /who /rooms /help /me", (missing, hlp))

    await alice.say("//not a command")
    await expect_exact(bob, original_json("Alice", "/not a command"), '(1) "//not a command" reaches Bob as the chat '
                       'line "/not a command"')
    await alice.say("/me waves")
    me = await recv_part2(bob, "the /me line")
    t.check((me["sender"], me["content"], me["type"]) == ("Alice", "* Alice waves", "chat"),
            '(1) /me waves: Bob gets {"sender":"Alice","content":"* Alice waves","type":"chat",..}', me)
    t.check(await alice.rooms_barrier() == [], "(1) no echo of // or /me lines to Alice")
    before, err = await alice.command("/frobnicate now", lambda o: True, "the answer to an unknown command")
    t.check(before == [] and err["type"] == "error" and err["sender"] == "Server",
            "(1) an unknown /command: type error from Server", err)
    t.check(await bob.rooms_barrier() == [], "(1) Bob got nothing from the commands and the unknown command")

    # A room with someone in it: the join goes to the joiner and to those already there.
    await bob.say("/join dev")
    for c in (bob, carol):
        joined = await recv_part2(c, "Bob's /join dev")
        t.check((joined["type"], joined["content"], joined.get("room")) == ("join", "Bob joined room dev", "dev"),
                f'(1) Bob /join dev: {c.label} gets type join "Bob joined room dev" with room dev', joined)
    left = await recv_part2(alice, "Bob's /join leave notice")
    t.check((left["type"], left["content"]) == ("leave", "Bob went to room dev"),
            '(1) Bob /join dev: Alice gets type leave "Bob went to room dev"', left)

    await carol.close()
    await expect_exact(bob, original_json("Server", "Carol left the chat"),
                       '(1) Carol closes (close frame): Bob, in dev, gets '
                       '{"sender":"Server","content":"Carol left the chat"}')
    await asyncio.sleep(0.1)
    t.check(await alice.rooms_barrier() == [], "(1) Alice, in the lobby, is not told that Carol left")
    await bob.say("/join lobby")
    await recv_part2(bob, "Bob's /join lobby")
    await recv_part2(alice, "Bob's /join lobby")
    await bob.abort()
    await expect_exact(alice, original_json("Server", "Bob left the chat"),
                       "(1) back in the lobby, Bob drops the TCP connection (no close frame): "
                       "Alice gets 'Bob left the chat'")


async def part_names(scope, args):
    uri = f"ws://127.0.0.1:{args.port}/"
    zed = await scope.member(uri, "Zed")
    newbie = await scope.secure(uri, "newbie")
    t.check(await newbie.recv("the prompt") == PROMPT, "(1) names: a fifth client gets the prompt")

    async def refused(client, answer, why):
        await client.say(answer)
        err = await recv_part2(client, f"the answer to the name {answer!r}")
        ask = "Please enter your name:"
        t.check(err["type"] == "error" and err["sender"] == "Server" and err["content"].endswith(ask)
                and len(err["content"]) > len(ask),
                f"(1) names: {why} refused: type error, says why, ends 'Please enter your name:'",
                err)

    await refused(newbie, "zED", "\"zED\" (Zed's, in another case)")
    await refused(newbie, "", "the empty name")
    await refused(newbie, "Bad Name", "\"Bad Name\" (a space)")
    await refused(newbie, "x" * 33, "a 33-byte name")
    name = "A" + "\u00e9" * 15 + "z"  # 32 bytes of UTF-8: the longest allowed; sorts before Zed
    await newbie.say(name)
    await expect_exact(newbie, original_json("Server", f"{name} joined the chat"),
                       "(1) names: after 4 refusals a 32-byte UTF-8 name is accepted (own join notice)")
    await expect_exact(zed, original_json("Server", f"{name} joined the chat"), "(1) names: Zed sees that join")
    before, who = await zed.command("/who", is_type("system", "Members of room"), "the answer to /who")
    t.check(before == [] and who["content"] == f"Members of room lobby (2):\n  {name}  {newbie.fingerprint}\n"
            f"  Zed  {zed.fingerprint}", f"(1) names: /who lists {name} before Zed (sorted, not in join order)", who)
    await newbie.close()
    await expect_exact(zed, original_json("Server", f"{name} left the chat"),
                       "(1) names: the newcomer closes; Zed gets its leave notice byte for byte")

    loser = await scope.secure(uri, "loser")
    await loser.recv("the prompt")
    await refused(loser, "server", '"server"')
    await refused(loser, "SERVER", '"SERVER"')
    await refused(loser, "tab\there", "\"tab\\there\" (a tab)")
    await refused(loser, "ctl\x01", "\"ctl\\x01\" (a control character)")
    await loser.say("Zed")
    code, reason, got = await loser.closed("the fifth bad name")
    t.check(code == 1008 and len(got) <= 1, "(1) names: the fifth bad answer closes the connection with 1008",
            (code, reason, got))
    t.check(await zed.rooms_barrier() == [], "(1) names: no refused name ever joined (Zed was told nothing)")


# ---------------------------------------------------------------- (2) the operator

async def part_operator(scope, args):
    srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--demo-psk", stdin=True)
    t.check(srv.host == "127.0.0.1" and srv.port > 0, f"(2) first console line is the bound address: {srv.first!r}")
    alice = await scope.member(srv.uri, "Alice")
    await srv.console_line(3, "the Commands line")
    t.check(srv.lines[1] == "Using Noise protocol: Noise_XXpsk2_25519_AESGCM_SHA256",
            "(2) console line 2: 'Using Noise protocol: Noise_XXpsk2_25519_AESGCM_SHA256'", srv.lines[:4])
    want = "Server key fingerprint: " + fingerprint(alice.server_key)
    t.check(srv.lines[2] == want, f"(2) console line 3: '{want}', the static key the handshake showed",
            srv.lines[:4])
    t.check(srv.lines[3].startswith("Commands: "), "(2) console line 4: 'Commands: ...'", srv.lines[:4])
    t.check(await srv.has_line(f"New connection from: 127.0.0.1:{alice.local_port}"),
            "(2) console: 'New connection from: 127.0.0.1:<the client's port>'", srv.lines[-8:])
    t.check(await srv.has_line("Alice joined the chat"), "(2) console: 'Alice joined the chat'", srv.lines[-8:])
    t.check(srv.stderr().strip() != "", "(2) --demo-psk prints a warning on stderr")

    bob = await scope.member(srv.uri, "Bob")
    await alice.recv("Bob's join")
    eve = await scope.member(srv.uri, "Eve")
    await alice.recv("Eve's join")
    await bob.recv("Eve's join")
    await eve.say("/join dev")
    await eve.recv("the /join answer")
    await alice.recv("Eve's leave for dev")
    await bob.recv("Eve's leave for dev")

    await alice.say("Hello everyone!")
    await bob.recv("Alice's line")
    t.check(await srv.has_line("Alice: Hello everyone!"), "(2) console: 'Alice: Hello everyone!'", srv.lines[-8:])

    await srv.operator("@Bob hi there")
    await expect_exact(bob, original_json("Server", "hi there"),
                       '(2) operator "@Bob hi there": Bob gets {"sender":"Server","content":"hi there"}')
    t.check(await srv.has_line("To Bob: hi there"), "(2) console: 'To Bob: hi there'", srv.lines[-8:])
    t.check(await alice.rooms_barrier() == [] and await eve.rooms_barrier() == [],
            "(2) @Bob reaches Bob only (not Alice, not Eve)")

    await srv.operator("hello all")
    for c in (alice, bob, eve):
        await expect_exact(c, original_json("Server", "hello all"),
                           f'(2) operator "hello all": {c.label} gets {{"sender":"Server","content":"hello all"}}')
    t.check(await srv.has_line("Broadcast: hello all"), "(2) console: 'Broadcast: hello all'", srv.lines[-8:])

    await srv.operator("@Nobody x")
    t.check(await srv.has_line("Client 'Nobody' not found"), "(2) @Nobody: console 'Client 'Nobody' not found'",
            srv.lines[-8:])
    t.check(all([await c.rooms_barrier() == [] for c in (alice, bob, eve)]), "(2) @Nobody reaches no one")

    await srv.operator("/kick Eve")
    code, reason, got = await eve.closed("/kick Eve")
    t.check(got == [], f"(2) operator /kick Eve: Eve's connection is closed within 5 s (code {code}, {reason!r})",
            got)

    await bob.close()
    await expect_exact(alice, original_json("Server", "Bob left the chat"), "(2) Bob closes: Alice gets his leave")
    t.check(await srv.has_line("Bob left the chat"), "(2) console: 'Bob left the chat'", srv.lines[-8:])

    await srv.operator("/quit")
    status = await srv.wait_exit()
    t.check(status == 0, "(2) operator /quit: the server exits 0 within 5 s", status)
    code, reason, got = await alice.closed("/quit")
    t.check(got == [], f"(2) /quit closed Alice's connection (code {code}, {reason!r})", got)


# ---------------------------------------------------------------- (3) hostile clients

async def part_hostile(scope, args):
    # --rate 0: Gina's flood tests the queue bound, not the rate limit (test_hostile.sh has that).
    srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--demo-psk", "--handshake-timeout", "1000",
                             "--queue-limit", "65536", "--rate", "0")
    gina = await scope.member(srv.uri, "Gina")
    hank = await scope.member(srv.uri, "Hank")
    await expect_exact(gina, original_json("Server", "Hank joined the chat"), "(3) good clients Gina and Hank are in")

    async def still(after):
        line = f"still chatting after {after}"
        await gina.say(line)
        await expect_exact(hank, original_json("Gina", line), f"(3)   Gina and Hank still chat after {after}")

    async def expect_close(c, code, what):
        got_code, reason, got = await c.closed(what)
        t.check(got_code == code and got == [], f"(3) {what}: closed with {code}", (got_code, reason, got))

    # Wrong PSK: the server's message 2 does not verify; a careless client sends message 3 anyway.
    c = await scope.connect(srv.uri, "wrongpsk")
    await c.send_m1(os.urandom(32))
    m2 = await c.recv_wire("handshake message 2")
    try:
        read_handshake(c.hs, m2)
    except DecryptFailedException:
        pass
    m3, _ = write_handshake(c.hs)
    try:
        await bounded(c.ws.send(m3), "sending message 3")
    except websockets.ConnectionClosed:
        pass
    await expect_close(c, 1008, "wrong PSK (message 3 under another PSK)")
    await still("the wrong PSK")

    # Too slow: the handshake timeout (1 s, from TCP accept) in three places at once.
    async def stalled_ws():
        t0 = time.monotonic()
        c = await scope.connect(srv.uri, "stalled")
        await c.send_m1(DEMO_PSK)
        await c.recv_wire("handshake message 2")
        code, reason, got = await c.closed("the handshake timeout")
        return code, time.monotonic() - t0

    async def stalled_raw(data):
        t0 = time.monotonic()
        r = await scope.raw("127.0.0.1", srv.port)
        if data:
            await asyncio.to_thread(r.sendall, data)
        got, how = await asyncio.to_thread(r.read_to_end, 4)
        return how, time.monotonic() - t0

    (code, dt), (how1, dt1), (how2, dt2) = await asyncio.gather(
        stalled_ws(), stalled_raw(b""), stalled_raw(b"GET / HTTP/1.1\r\nHost: x\r\n"))
    t.check(code == 1008 and 0.7 <= dt <= 2.5,
            f"(3) stopped after handshake message 1: closed with 1008 after {dt:.2f} s (timeout 1 s)", (code, dt))
    t.check(how1 in ("eof", "reset") and 0.7 <= dt1 <= 2.5,
            f"(3) silent TCP connection: closed after {dt1:.2f} s ({how1})", (how1, dt1))
    t.check(how2 in ("eof", "reset") and 0.7 <= dt2 <= 2.5,
            f"(3) half an HTTP request: closed after {dt2:.2f} s ({how2})", (how2, dt2))
    await still("three handshake timeouts")

    tls_hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00garbage\xff\r\n\r\n"  # what a TLS client sends
    data, how = await http_exchange(scope, srv.port, tls_hello)
    t.check(data.startswith(b"HTTP/1.1 400 ") and how in ("eof", "reset"),
            "(3) garbage instead of an HTTP request: HTTP/1.1 400, then the TCP connection is closed",
            (data[:200], how))
    data, how = await http_exchange(scope, srv.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    t.check(data.startswith(b"HTTP/1.1 426 ") and how in ("eof", "reset"),
            "(3) a plain HTTP GET (no Upgrade): HTTP/1.1 426, then closed (docs/protocol.md)", (data[:200], how))
    await still("garbage and plain HTTP")

    c = await scope.secure(srv.uri, "texter")
    await c.recv("the prompt")
    await bounded(c.ws.send("a text frame"), "sending a text frame")
    await expect_close(c, 1003, "a text frame after the handshake")

    c = await scope.secure(srv.uri, "forger")
    await c.recv("the prompt")
    wire = bytearray(c.send_cs.encrypt_with_ad(b"", original_json("", "Forger")))
    wire[3] ^= 0x01
    await bounded(c.ws.send(bytes(wire)), "sending a tampered message")
    await expect_close(c, 1008, "a transport message with one flipped bit")

    for plaintext, what in ((b"[1,2,3]", "a JSON array as the name"),
                            (b"not json at all", "text that is not JSON as the name"),
                            (b'{"sender":"","content":"\xff\xfe"}', "bytes that are not UTF-8 as the name"),
                            (b'{"sender":"","content":null}', "an object without string content as the name")):
        c = await scope.secure(srv.uri, "badjson")
        await c.recv("the prompt")
        await c.send_plain(plaintext)
        await expect_close(c, 1008, what)
    c = await scope.secure(srv.uri, "bigone")
    await c.recv("the prompt")
    await bounded(c.ws.send(os.urandom(70000)), "sending a 70000-byte message")
    await expect_close(c, 1009, "a 70000-byte binary message (over 65535)")
    await still("bad transport messages, bad JSON and a big message")

    mallory = await scope.member(srv.uri, "Mallory")
    for c in (gina, hank):
        await expect_exact(c, original_json("Server", "Mallory joined the chat"), f"(3) {c.label} sees Mallory join")
    await mallory.send_plain(b'{"sender":"","content":42}')
    await expect_close(mallory, 1008, 'member Mallory sends {"sender":"","content":42}')
    for c in (gina, hank):
        await expect_exact(c, original_json("Server", "Mallory left the chat"),
                           f"(3) {c.label} gets 'Mallory left the chat' after Mallory's 1008")
    await still("Mallory's bad JSON")

    await slow_reader(scope, srv, gina, hank)
    await still("the flood")


def tcp_wmem_max():
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 << 20


async def slow_reader(scope, srv, gina, hank):
    """A member that never reads (tiny receive buffer) while Gina floods the room: the server must drop it at
    --queue-limit 65536, and Hank must get every line."""
    sloth = await scope.raw("127.0.0.1", srv.port, rcvbuf=4096)
    await asyncio.to_thread(sloth.member, "Sloth")
    for c in (gina, hank):
        await expect_exact(c, original_json("Server", "Sloth joined the chat"), f"(3) {c.label} sees Sloth join")

    # Well over what the kernel can hold for Sloth (its tiny receive buffer, the server's send buffer, at most
    # tcp_wmem's maximum) plus the 64 KiB queue limit, so the server's own queue must overflow.
    size = 4000
    count = max(2500, min(10000, 3 * tcp_wmem_max() // size))
    lines = [f"flood {i:05d} " + "x" * size for i in range(count)]
    left = original_json("Server", "Sloth left the chat")

    # Hank reads as fast as he can but, in this one event loop, only when Gina's sends yield; Gina keeps at most
    # `window` lines ahead of him so that Hank, a good client, never has 64 KiB waiting in the server (under CPU
    # load he would be dropped as a slow reader too, rightly). Gina stops once Hank hears that Sloth left.
    window = 12
    progress = {"got": 0, "left": False}
    moved = asyncio.Event()

    async def hank_reads():
        while True:
            got = progress["got"]
            raw = await hank.recv(f"flood line {got}", 10)
            if raw == left and not progress["left"]:
                progress["left"] = True
            elif raw != original_json("Gina", lines[got]):
                raise Failure(f"Hank: flood line {got} is {short(raw, 120)}")
            else:
                progress["got"] = got + 1
            moved.set()

    async def hank_reaches(n):
        while progress["got"] < n and not reader.done():
            moved.clear()
            await bounded(moved.wait(), f"Hank to read flood line {progress['got']}", 10)
        if reader.done():
            await reader  # raises its Failure

    reader = asyncio.create_task(hank_reads())
    try:
        t0 = time.monotonic()
        sent = 0
        while sent < count and not progress["left"]:
            await hank_reaches(sent - window + 1)
            await gina.say(lines[sent])
            sent += 1
        await hank_reaches(sent)
    finally:
        reader.cancel()
    t.check(progress["got"] == sent, f"(3) Hank got all {sent} flood lines of {size} bytes, in order, in "
            f"{time.monotonic() - t0:.1f} s, while Sloth read nothing")
    saw_left = progress["left"]

    data, how = await asyncio.to_thread(sloth.read_to_end)
    frames = split_frames(data)
    closes = [p for op, p in frames if op == 8]
    binaries = sum(1 for op, _ in frames if op == 2)
    t.check(how in ("eof", "reset") and binaries < sent,
            f"(3) the server disconnected Sloth: {binaries} of {sent} lines reached it, then {how}",
            (how, binaries, len(data)))
    if closes:
        code = int.from_bytes(closes[0][:2], "big") if len(closes[0]) >= 2 else None
        t.check(code == 1008, "(3) Sloth's close frame carries 1008", closes[0])
    else:
        print("note: no close frame reached Sloth (the TCP connection was closed with output still queued)")
    await expect_exact(gina, left, "(3) Gina gets 'Sloth left the chat'")
    if not saw_left:
        await expect_exact(hank, left, "(3) Hank gets 'Sloth left the chat'")
    else:
        t.check(True, "(3) Hank got 'Sloth left the chat' among the flood lines")


# ---------------------------------------------------------------- (4) signals

async def part_signals(scope, args):
    for sig, names in ((signal.SIGTERM, ("Alice", "Bob")), (signal.SIGINT, ("Carol",))):
        srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--demo-psk", "--quiet")
        clients = []
        for name in names:
            c = await scope.member(srv.uri, name)
            for other in clients:
                await other.recv(f"{name}'s join")
            clients.append(c)
        srv.proc.send_signal(sig)
        t0 = time.monotonic()
        results = await asyncio.gather(*(c.closed(sig.name) for c in clients))
        for c, (code, reason, got) in zip(clients, results):
            t.check(code == 1001 and reason == "server shutting down" and got == [],
                    f"(4) {sig.name}: {c.label} gets close 1001 \"server shutting down\"", (code, reason, got))
        status = await srv.wait_exit(max(0.1, 5 - (time.monotonic() - t0)))
        t.check(status == 0, f"(4) {sig.name}: the server exits 0 within 5 s", status)
    for srv in scope.servers:
        # "--quiet: only the 'Server listening on:' line and errors": nothing went wrong here.
        t.check(srv.lines == [srv.first], "(4) --quiet: the console is the 'Server listening on:' line alone "
                "(clients joined and left, a signal stopped it)", srv.lines)


# ---------------------------------------------------------------- (5) IPv6

def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


async def part_ipv6(scope, args):
    if not ipv6_loopback():
        print("SKIP ipv6: ::1 cannot be bound on this machine")
        return
    srv = await scope.server(args.server, "--listen", "[::1]:0", "--demo-psk", "--quiet")
    t.check(srv.first == f"Server listening on: [::1]:{srv.port}", f"(5) console: {srv.first!r}")
    c = await scope.secure(srv.uri, "Ivy")
    t.check(await c.recv("the prompt") == PROMPT, "(5) over [::1]: the prompt")
    await c.say("Ivy")
    await expect_exact(c, original_json("Server", "Ivy joined the chat"), "(5) over [::1]: the join notice")


# ---------------------------------------------------------------- (6) key files, --max-clients

def key_file(path, header, key, mode=0o600):
    """docs/keys.md: the header line, then the 32 bytes in base64."""
    with open(path, "w") as f:
        f.write(header + "\n" + base64.b64encode(key).decode() + "\n")
    os.chmod(path, mode)


def read_key_file(path, header):
    with open(path) as f:
        lines = f.read().splitlines()
    if len(lines) != 2 or lines[0] != header:
        raise Failure(f"{path}: not a {header} key file: {lines!r}")
    return base64.b64decode(lines[1], validate=True)


async def verifies_with_demo_psk(scope, srv):
    c = await scope.connect(srv.uri, "demo")
    await c.send_m1(DEMO_PSK)
    m2 = await c.recv_wire("handshake message 2")
    try:
        read_handshake(c.hs, m2)
        return True
    except DecryptFailedException:
        return False
    finally:
        await c.abort()


async def part_keys(scope, args):
    with tempfile.TemporaryDirectory(prefix="chat-e2e-") as tmp:
        psk = os.urandom(32)
        static = DH.generate_keypair()
        key_file(f"{tmp}/psk", "secchat-psk-v1", psk)
        key_file(f"{tmp}/server.key", "secchat-x25519-private-v1", static.private.data)
        srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--quiet", "--psk-file", f"{tmp}/psk",
                                 "--key-file", f"{tmp}/server.key")
        c = await scope.member(srv.uri, "Kim", psk=psk)
        t.check(c.server_key == static.public.data,
                "(6) --psk-file and --key-file: a client with that PSK joins; the server's static key is the file's")
        t.check(not await verifies_with_demo_psk(scope, srv),
                "(6) --psk-file: a demo-PSK client cannot verify message 2")
        await srv.stop()

        srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--quiet",
                                 env={"SECCHAT_PSK_FILE": f"{tmp}/psk"})
        await scope.member(srv.uri, "Lee", psk=psk)
        t.check(True, "(6) SECCHAT_PSK_FILE: a client with that PSK joins")
        await srv.stop()

        cfg = f"{tmp}/config"
        os.mkdir(cfg, 0o700)
        srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--quiet", env={"XDG_CONFIG_HOME": cfg})
        made = read_key_file(f"{cfg}/secchat/psk", "secchat-psk-v1")
        mode = os.stat(f"{cfg}/secchat/psk").st_mode & 0o777
        t.check(len(made) == 32 and mode == 0o600 and os.path.exists(f"{cfg}/secchat/server.key"),
                "(6) no PSK option: the server creates $XDG_CONFIG_HOME/secchat/psk (0600) and server.key", oct(mode))
        await scope.member(srv.uri, "Max", psk=made)
        t.check(True, "(6) a client with the created PSK joins")
        t.check(not await verifies_with_demo_psk(scope, srv),
                "(6) the created PSK is not the demo PSK (message 2 does not verify with it)")
        await srv.stop()

        key_file(f"{tmp}/open-psk", "secchat-psk-v1", psk, 0o644)
        with open(f"{tmp}/bad-psk", "w") as f:
            f.write("secchat-psk-v1\nnot base64 at all\n")
        os.chmod(f"{tmp}/bad-psk", 0o600)
        for name, why in (("open-psk", "readable by others (0644)"), ("bad-psk", "malformed"),
                          ("missing", "missing")):
            status, out, err = await run_program(args.server, "--listen", "127.0.0.1:0", "--quiet",
                                                 "--psk-file", f"{tmp}/{name}")
            t.check(status == 1 and err.strip() != b"", f"(6) --psk-file {why}: exit status 1 with a message",
                    (status, out[-200:], err[-300:]))

    srv = await scope.server(args.server, "--listen", "127.0.0.1:0", "--quiet", "--demo-psk", "--max-clients", "2")
    first = await scope.member(srv.uri, "One")
    await scope.secure(srv.uri, "two")  # counted while still unnamed
    data, how = await http_exchange(scope, srv.port, b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    b"Sec-WebSocket-Version: 13\r\n\r\n")
    t.check(data.startswith(b"HTTP/1.1 503 ") and how in ("eof", "reset"),
            "(6) --max-clients 2: a third connection gets HTTP/1.1 503 and is closed", (data[:200], how))
    await first.close()
    for attempt in range(10):  # the server counts the closed connection out on its own thread
        try:
            await scope.member(srv.uri, "Three")
            break
        except Failure:
            if attempt == 9:
                raise
            await asyncio.sleep(0.1)
    t.check(True, "(6) --max-clients 2: once one leaves, a new client joins")


# ---------------------------------------------------------------- the run

async def part_main_alive(scope, args):
    try:  # a zombie (exited, not yet reaped by the .sh) is not alive
        with open(f"/proc/{args.pid}/stat") as f:
            alive = f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        alive = False
    t.check(alive, "(1) the main server (stdin at EOF from the start) is still running")
    c = await scope.member(f"ws://127.0.0.1:{args.port}/", "Zoe")
    t.check(True, "(1) and still lets a new member join")
    await c.close()


PARTS = [
    ("flags", part_flags),
    ("room", part_room),
    ("names", part_names),
    ("operator", part_operator),
    ("hostile", part_hostile),
    ("signals", part_signals),
    ("ipv6", part_ipv6),
    ("keys and limits", part_keys),
    ("main server alive", part_main_alive),
]


async def run(args):
    failures = []
    for name, part in PARTS:
        if args.only and name not in args.only:
            continue
        scope = Scope()
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
        elif os.environ.get("CHAT_E2E_CONSOLES"):
            scope.dump()
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, required=True, help="the main server's port (started by the .sh)")
    ap.add_argument("--pid", type=int, required=True, help="the main server's process id")
    ap.add_argument("--only", action="append", help="run only this part (repeatable; for debugging)")
    args = ap.parse_args()
    try:
        failures = asyncio.run(asyncio.wait_for(run(args), OVERALL))
    except asyncio.TimeoutError:
        failures = [f"the run took over {OVERALL:.0f} s"]
        print(f"FAIL {failures[0]}")
    if failures:
        print(f"chat e2e: {t.passed} checks passed, {len(failures)} parts FAILED:")
        for f in failures:
            print(f"  {f}")
        return 1
    print(f"chat e2e: {t.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
