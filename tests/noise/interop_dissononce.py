#!/usr/bin/python3
"""Interoperability test: libsecchat's Noise engine against dissononce.

Run with Debian's interpreter (python3-dissononce belongs to it):

    /usr/bin/python3 tests/noise/interop_dissononce.py [PATH/TO/noise_peer]

The peer defaults to ${BUILD:-build}/tests/noise/noise_peer. For each protocol
below, with fresh random static keys, PSKs and prologue, the C peer plays one
role over its stdin/stdout line protocol (see tests/noise/noise_peer.c) and
dissononce (an independent Python implementation of noise-rev34) plays the
other; then the roles are swapped. Each case checks that every handshake and
transport payload arrives intact in both directions (initiator to responder
only for one-way patterns), that both handshake hashes are equal, and that each
side's view of the peer's static key is the key the peer actually holds.

Rekey cases: the C peer runs with --rekey (continuous rekey, section 11.3) and
this script rekeys its CipherStates the same way with spec_rekey(), because
dissononce 0.34.3's own CipherState.rekey() does not follow the spec (see
spec_rekey()).

Negative cases: a mismatched PSK must fail the handshake on the side that reads
the first message encrypted under it (ERROR -209 from the C peer, or
dissononce's DecryptFailedException, after which the C peer must end with an
ERROR on end of input); both processes must end. A wrong pinned peer key must
make the C peer fail with ERROR -214.

Protocols dissononce cannot run are reported as "skip"; AESGCM cases are
skipped when the C peer reports ERROR -203 (no AES-NI on this CPU).

Prints one line per case ("ok ...", "skip ...", "FAIL ..."), then
"N passed, N failed, N skipped"; exits 1 on any failure. Every read from the
child has a timeout and the child is killed when one expires.
"""

import os
import queue
import random
import re
import subprocess
import sys
import threading

try:
    from dissononce.dh.x25519.x25519 import X25519DH
    from dissononce.exceptions.decrypt import DecryptFailedException
    from dissononce.extras.meta.cipher.factory import CipherFactory
    from dissononce.extras.meta.hash.factory import HashFactory
    from dissononce.extras.meta.pattern.factory import PatternFactory
    from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory
    from dissononce.extras.meta.protocol.protocol import NoiseProtocol
    from dissononce.processing.handshakepatterns.handshakepattern import HandshakePattern
except ImportError as exc:  # pragma: no cover - reported by test_interop.sh too
    print("FAIL cannot import dissononce (%s): apt-get install python3-dissononce "
          "and run with /usr/bin/python3" % exc)
    print("0 passed, 1 failed, 0 skipped")
    sys.exit(1)

LINE_TIMEOUT = 10.0  # seconds to wait for any single line from the C peer
EXIT_TIMEOUT = 10.0  # seconds to wait for the C peer to exit once done
ROUNDS = 3           # transport rounds (noise_peer's default)

ERR_INVALID_ARGUMENT = -101
ERR_AESGCM_UNAVAILABLE = -203
ERR_DECRYPT = -209
ERR_PEER_KEY_MISMATCH = -214

# The protocols the brief asks for, the project's default first.
PROTOCOLS = [
    "Noise_XXpsk2_25519_AESGCM_SHA256",
    "Noise_XXpsk2_25519_ChaChaPoly_SHA256",
    "Noise_XX_25519_ChaChaPoly_BLAKE2b",
    "Noise_IK_25519_AESGCM_SHA512",
    "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
    "Noise_KK_25519_AESGCM_SHA256",
    "Noise_N_25519_ChaChaPoly_SHA256",
    # one-way with PSK
    "Noise_Npsk0_25519_AESGCM_SHA256",
    "Noise_Kpsk0_25519_ChaChaPoly_BLAKE2b",
    "Noise_Xpsk1_25519_AESGCM_SHA512",
    # deferred patterns (section 18.1)
    "Noise_X1X1_25519_ChaChaPoly_SHA256",
    "Noise_XK1_25519_AESGCM_BLAKE2b",
    "Noise_I1K1_25519_ChaChaPoly_SHA512",
    "Noise_NX1psk2_25519_AESGCM_SHA256",
    "Noise_X1X1psk3_25519_ChaChaPoly_BLAKE2b",
    # several psk modifiers
    "Noise_XXpsk0+psk2_25519_AESGCM_SHA256",
    "Noise_XXpsk0+psk3_25519_ChaChaPoly_SHA256",
    "Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2b",
    "Noise_IKpsk1+psk2_25519_AESGCM_SHA512",
    "Noise_KKpsk0+psk1+psk2_25519_ChaChaPoly_SHA256",
    "Noise_XXpsk1+psk2+psk3_25519_AESGCM_BLAKE2b",
    # psk0 and psk1 both land in message 1: valid per section 9.4, but
    # dissononce's PSKPatternModifier refuses a second psk token in one
    # message, so build_protocol() places the tokens itself for these.
    "Noise_NNpsk0+psk1_25519_ChaChaPoly_SHA256",
]

# Then every pattern dissononce knows (one-way, fundamental, deferred), with
# the cipher/hash suite rotating so each combination is exercised.
SUITES = ["ChaChaPoly_SHA256", "AESGCM_SHA512", "ChaChaPoly_BLAKE2b",
          "AESGCM_SHA256", "ChaChaPoly_SHA512", "AESGCM_BLAKE2b"]
SWEEP_PATTERNS = [
    "N", "K", "X",
    "NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK", "XX", "IN", "IK", "IX",
    "NK1", "NX1", "X1N", "X1K", "XK1", "X1K1", "X1X", "XX1", "X1X1",
    "K1N", "K1K", "KK1", "K1K1", "K1X", "KX1", "K1X1",
    "I1N", "I1K", "IK1", "I1K1", "I1X", "IX1", "I1X1",
]
for _i, _p in enumerate(SWEEP_PATTERNS):
    _name = "Noise_%s_25519_%s" % (_p, SUITES[_i % len(SUITES)])
    if _name not in PROTOCOLS:
        PROTOCOLS.append(_name)

FACTORY = NoiseProtocolFactory()
DH = X25519DH()


class Skip(Exception):
    pass


class Failure(Exception):
    pass


class PeerError(Exception):
    """The C peer printed "ERROR <code> <text>"."""

    def __init__(self, code, text):
        super().__init__("ERROR %d %s" % (code, text))
        self.code = code
        self.text = text


class Peer:
    """The C noise_peer child, read line by line with timeouts."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        self.transcript = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put),
                         daemon=True).start()
        self.stderr_thread = threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append),
                                              daemon=True)
        self.stderr_thread.start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink(line.rstrip("\n"))
        sink(None)

    def next_line(self):
        try:
            line = self.lines.get(timeout=LINE_TIMEOUT)
        except queue.Empty:
            raise Failure("timeout: no line from the C peer within %.0f s" % LINE_TIMEOUT)
        if line is None:
            self.lines.put(None)  # stay at end of file
            raise Failure("the C peer closed its output early (exit %s)" % self.proc.poll())
        self.transcript.append(line)
        if line.startswith("ERROR "):
            parts = line.split(" ", 2)
            try:
                code = int(parts[1])
            except (IndexError, ValueError):
                raise Failure("malformed ERROR line: %r" % line)
            raise PeerError(code, parts[2] if len(parts) > 2 else "")
        return line

    def expect(self, tag):
        """Reads the next line, which must be "<tag> <hex>", and returns the bytes."""
        line = self.next_line()
        key, _, value = line.partition(" ")
        if key != tag:
            raise Failure("expected %s from the C peer, got %r" % (tag, line[:80]))
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise Failure("bad hex in %r" % line[:80])

    def expect_done(self):
        line = self.next_line()
        if line != "DONE":
            raise Failure("expected DONE from the C peer, got %r" % line[:80])

    def send(self, data):
        try:
            self.proc.stdin.write("MSG %s\n" % data.hex())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child died; its ERROR line or EOF will tell

    def finish(self):
        """Closes the child's stdin and waits for it (killing it on timeout); returns its exit code."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("the C peer did not exit within %.0f s; killed" % EXIT_TIMEOUT)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (BrokenPipeError, OSError):
                pass

    def stderr_text(self):
        """The child's stderr so far (all of it once the child has exited)."""
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        else:
            self.stderr_thread.join(timeout=1)
        return " | ".join(s for s in self.stderr if s)


def sends(pattern, initiator):
    """The message patterns one party sends (initiator: 0, 2, ...)."""
    return pattern.message_patterns[0 if initiator else 1::2]


def needs_static(pattern, initiator):
    pre = pattern.initiator_pre_message_pattern if initiator else pattern.responder_pre_message_pattern
    return "s" in pre or any("s" in m for m in sends(pattern, initiator))


def pre_message_static(pattern, initiator):
    pre = pattern.initiator_pre_message_pattern if initiator else pattern.responder_pre_message_pattern
    return "s" in pre


def last_psk_message(pattern):
    """Index of the message holding the last psk token (the one the mismatch case changes)."""
    found = None
    for i, m in enumerate(pattern.message_patterns):
        if "psk" in m:
            found = i
    return found


def build_protocol(name):
    """dissononce's NoiseProtocol for name, and a note when this script had to help.

    dissononce 0.34.3 refuses a second psk token in one message ("XXpsk0+psk1":
    PSKPatternModifier._is_modifiable), although section 9.4 allows it. For
    such names the psk tokens are placed here exactly as section 9.4 says
    (psk0 first in message 1, pskN last in message N) and dissononce's own
    HandshakeState still does all the processing.
    """
    try:
        return FACTORY.get_noise_protocol(name), ""
    except ValueError as exc:
        refusal = str(exc)
    try:
        _, handshake, dh, cipher, hash_name = name.split("_")
        base, modifiers = HandshakePattern.parse_handshakepattern(handshake)
        base_pattern = PatternFactory().get_pattern(base)
    except ValueError:
        raise Skip("dissononce cannot build it: %s" % refusal)
    if not modifiers or not all(re.fullmatch(r"psk[0-9]", m) for m in modifiers):
        raise Skip("dissononce cannot build it: %s" % refusal)
    messages = [list(m) for m in base_pattern.message_patterns]
    for modifier in modifiers:
        n = int(modifier[3:])
        if n > len(messages):
            raise Skip("dissononce cannot build it: %s" % refusal)
        if n == 0:
            messages[0].insert(0, "psk")
        else:
            messages[n - 1].append("psk")
    pattern = HandshakePattern(handshake, tuple(tuple(m) for m in messages),
                               base_pattern.initiator_pre_message_pattern,
                               base_pattern.responder_pre_message_pattern)
    protocol = NoiseProtocol(pattern, DH, CipherFactory().get_cipher(cipher),
                             HashFactory().get_hash(hash_name))
    return protocol, "psk tokens placed by the script; dissononce: %s" % refusal


def spec_rekey(cs):
    """Rekey() of a dissononce CipherState as noise-rev34 sections 4.2 and 5.1 define it.

    REKEY(k) is the first 32 bytes of ENCRYPT(k, 2^64-1, zerolen, zeros), and
    Rekey() sets k = REKEY(k) without touching n. dissononce 0.34.3's
    CipherState.rekey() keeps all 48 bytes (ciphertext and tag) as the new key,
    so the next encrypt raises ValueError, and it resets n to 0 through
    initialize_key(); hence this replacement, which still uses dissononce's
    cipher for ENCRYPT.
    """
    cs._key = cs.cipher.encrypt(cs._key, 2 ** 64 - 1, b"", bytes(32))[:32]


def run_case(peer_path, name, c_role, variant=None):
    """Runs one pairing. variant: None, "rekey", "psk-mismatch", "pinned" or "pin-mismatch".

    Returns a short note for the ok line; raises Skip or Failure.
    """
    protocol, build_note = build_protocol(name)
    if protocol.dh.name != "25519":
        raise Skip("only 25519 is exercised")
    pattern = protocol.pattern
    one_way = protocol.oneway
    c_init = c_role == "initiator"
    py_init = not c_init

    keys = {}
    for who in (True, False):
        keys[who] = DH.generate_keypair() if needs_static(pattern, who) else None
    c_kp, py_kp = keys[c_init], keys[py_init]
    n_psk = sum(m.count("psk") for m in pattern.message_patterns)
    psks = [os.urandom(32) for _ in range(n_psk)]
    c_psks = list(psks)
    if variant == "psk-mismatch":
        c_psks[-1] = os.urandom(32)  # the C side holds a different (last) PSK
    prologue = os.urandom(random.randint(0, 48))

    argv = [peer_path, name, c_role, "--prologue", prologue.hex(), "--transport", str(ROUNDS)]
    if c_kp is not None:
        argv += ["--static", c_kp.private.data.hex()]
    if py_kp is not None and (pre_message_static(pattern, py_init) or variant == "pinned"):
        argv += ["--remote", py_kp.public.data.hex()]
    if variant == "pin-mismatch":
        argv += ["--remote", DH.generate_keypair().public.data.hex()]
    if variant == "rekey":
        argv += ["--rekey"]
    for psk in c_psks:
        argv += ["--psk", psk.hex()]

    hs = protocol.create_handshakestate()
    rs = c_kp.public if (c_kp is not None and pre_message_static(pattern, c_init)) else None
    hs.initialize(pattern, py_init, prologue, s=py_kp, rs=rs, psks=psks)
    if hs.protocol_name != name:
        raise Failure("dissononce derived the name %s" % hs.protocol_name)

    peer = Peer(argv)
    try:
        note = drive(peer, hs, pattern, one_way, c_init, c_kp, py_kp, variant)
        return "; ".join(n for n in (note, build_note) if n)
    except PeerError as exc:
        if exc.code == ERR_AESGCM_UNAVAILABLE:
            raise Skip("this CPU has no AES-NI (ERROR -203)")
        if variant == "pin-mismatch" and exc.code == ERR_PEER_KEY_MISMATCH:
            status = peer.finish()
            if status != 1:
                raise Failure("wrong pinned key: C peer exit status %d, expected 1" % status)
            return "wrong pinned key: our ERROR -214, exit 1"
        raise Failure("C peer: %s [stderr: %s]" % (exc, peer.stderr_text()))
    except DecryptFailedException:
        raise Failure("dissononce: DecryptFailedException [C stderr: %s]" % peer.stderr_text())
    finally:
        peer.kill()


def drive(peer, hs, pattern, one_way, c_init, c_kp, py_kp, variant):
    py_init = not c_init
    # With a different last PSK, the first message whose payload the two sides
    # encrypt under different keys is the one holding the last psk token.
    bad_msg = last_psk_message(pattern) if variant == "psk-mismatch" else None
    cipherstates = None

    for i in range(len(pattern.message_patterns)):
        py_sends = (i % 2 == 0) == py_init
        if py_sends:
            buf = bytearray()
            cipherstates = hs.write_message(("py-hs-%d" % i).encode(), buf)
            peer.send(bytes(buf))
            if bad_msg == i:
                # The C peer reads the first message under the bad PSK: it must fail.
                try:
                    line = peer.next_line()
                except PeerError as exc:
                    if exc.code == ERR_AESGCM_UNAVAILABLE:
                        raise
                    if exc.code != ERR_DECRYPT:
                        raise Failure("mismatched PSK: C peer said %s, expected ERROR %d" % (exc, ERR_DECRYPT))
                    status = peer.finish()
                    if status != 1:
                        raise Failure("mismatched PSK: C peer exit status %d, expected 1" % status)
                    return "psk mismatch: our ERROR -209 at message %d, exit 1" % i
                raise Failure("mismatched PSK: C peer accepted message %d (%r)" % (i, line[:60]))
            got = peer.expect("PAYLOAD")
            if got != ("py-hs-%d" % i).encode():
                raise Failure("handshake payload %d arrived as %r" % (i, got))
        else:
            msg = peer.expect("MSG")
            buf = bytearray()
            if bad_msg == i:
                try:
                    hs.read_message(msg, buf)
                except DecryptFailedException:
                    # dissononce rejected it; the C peer waits for the next
                    # message and must end on end of input.
                    status = peer.finish()
                    rest = iter_remaining(peer)
                    if any(l.startswith(("HASH", "DONE")) for l in rest):
                        raise Failure("C peer went on after the failure: %r" % rest)
                    if status != 1 or not any(l.startswith("ERROR %d " % ERR_INVALID_ARGUMENT) for l in rest):
                        raise Failure("C peer after EOF: exit %s, output %r" % (status, rest))
                    return "psk mismatch: dissononce DecryptFailedException at message %d; C peer exit 1" % i
                raise Failure("mismatched PSK: dissononce accepted message %d" % i)
            cipherstates = hs.read_message(msg, buf)
            if bytes(buf) != ("c-hs-%d" % i).encode():
                raise Failure("handshake payload %d arrived as %r" % (i, bytes(buf)))

    if variant == "psk-mismatch":
        raise Failure("mismatched PSK went unnoticed")
    if cipherstates is None:
        raise Failure("dissononce did not finish the handshake")

    if variant == "pin-mismatch":
        raise Failure("C peer accepted a static key that differs from the pinned one")

    c_hash = peer.expect("HASH")
    py_hash = hs.symmetricstate.get_handshake_hash()
    if c_hash != py_hash:
        raise Failure("handshake hashes differ: C %s, dissononce %s" % (c_hash.hex(), py_hash.hex()))
    if py_kp is not None:
        c_rs = peer.expect("RS")
        if c_rs != py_kp.public.data:
            raise Failure("C peer's view of our static key is wrong")
    if c_kp is not None:
        if hs.rs is None or hs.rs.data != c_kp.public.data:
            raise Failure("dissononce's view of the C peer's static key is wrong")
    elif hs.rs is not None:
        raise Failure("dissononce has a remote static key the C peer never had")

    c1, c2 = cipherstates  # c1: initiator -> responder, c2: responder -> initiator
    for r in range(ROUNDS):
        for direction in ((0,) if one_way else (0, 1)):
            py_sending = (direction == 0) == py_init
            cs = c1 if direction == 0 else c2
            if py_sending:
                text = ("py-tr-%d" % r).encode()
                peer.send(cs.encrypt_with_ad(b"", text))
                if variant == "rekey":
                    spec_rekey(cs)
                got = peer.expect("PAYLOAD")
                if got != text:
                    raise Failure("transport payload %d arrived at the C peer as %r" % (r, got))
            else:
                msg = peer.expect("MSG")
                try:
                    got = cs.decrypt_with_ad(b"", msg)
                except DecryptFailedException:
                    raise Failure("dissononce could not decrypt transport message %d" % r)
                if variant == "rekey":
                    spec_rekey(cs)
                if got != ("c-tr-%d" % r).encode():
                    raise Failure("transport payload %d arrived as %r" % (r, got))
    peer.expect_done()
    status = peer.finish()
    if status != 0:
        raise Failure("C peer exit status %d" % status)
    return {"pinned": "pinned remote key", "rekey": "continuous rekey"}.get(variant, "")


def iter_remaining(peer):
    """The lines the (exited) C peer printed that were not read yet."""
    lines = []
    while True:
        try:
            line = peer.lines.get(timeout=LINE_TIMEOUT)
        except queue.Empty:
            break
        if line is None:
            peer.lines.put(None)
            break
        peer.transcript.append(line)
        lines.append(line)
    return lines


def main():
    if len(sys.argv) > 1:
        peer_path = sys.argv[1]
    else:
        peer_path = os.path.join(os.environ.get("BUILD", "build"), "tests", "noise", "noise_peer")
    if not os.access(peer_path, os.X_OK):
        print("FAIL C peer %s is missing or not executable (make check builds it)" % peer_path)
        print("0 passed, 1 failed, 0 skipped")
        return 1

    cases = []
    for name in PROTOCOLS:
        for role in ("initiator", "responder"):
            cases.append((name, role, None))
    # Rekey, negative and pinning cases.
    for name in ("Noise_XXpsk2_25519_AESGCM_SHA256", "Noise_XX_25519_ChaChaPoly_BLAKE2b",
                 "Noise_N_25519_AESGCM_SHA512"):
        for role in ("initiator", "responder"):
            cases.append((name, role, "rekey"))
    for name in ("Noise_XXpsk2_25519_AESGCM_SHA256", "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
                 "Noise_XXpsk0+psk2_25519_ChaChaPoly_BLAKE2b"):
        for role in ("initiator", "responder"):
            cases.append((name, role, "psk-mismatch"))
    for role in ("initiator", "responder"):
        cases.append(("Noise_XX_25519_AESGCM_SHA256", role, "pinned"))
        cases.append(("Noise_XX_25519_AESGCM_SHA256", role, "pin-mismatch"))

    passed = failed = skipped = 0
    for name, role, variant in cases:
        try:
            note = run_case(peer_path, name, role, variant)
        except Skip as exc:
            skipped += 1
            print("skip %s %s: %s" % (name, role, exc))
        except Failure as exc:
            failed += 1
            print("FAIL %s %s%s: %s" % (name, role, " [%s]" % variant if variant else "", exc))
        except Exception as exc:  # any surprise is a failure, not a crash
            failed += 1
            print("FAIL %s %s%s: %s: %s" % (name, role, " [%s]" % variant if variant else "",
                                           type(exc).__name__, exc))
        else:
            passed += 1
            print("ok %s %s%s" % (name, role, " (%s)" % note if note else ""))
        sys.stdout.flush()

    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
