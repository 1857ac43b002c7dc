"""The bytes the original program puts on the wire, for the Python test peers
(tests/server/chatpeer.py, tests/client/original_server.py,
tests/chat/interop_original.py): its JSON as serde_json writes it, and key
fingerprints as docs/keys.md defines them. Standard library only."""
import hashlib


def serde_string(s):
    """A JSON string exactly as serde_json writes it: \\" \\\\ \\b \\f \\n \\r \\t, other controls as \\u00xx."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = ['"']
    for ch in s:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)  # "/", DEL and all non-ASCII stay raw
    out.append('"')
    return "".join(out).encode("utf-8")


def original_json(sender, content):
    """The original's Message {sender, content} through serde_json::to_string: compact, in that order."""
    return b'{"sender":' + serde_string(sender) + b',"content":' + serde_string(content) + b"}"


def fingerprint(public_key):
    """docs/keys.md: the first 16 bytes of SHA-256 of the key, lowercase hex, groups of 4 digits joined by ':'."""
    digest = hashlib.sha256(public_key).hexdigest()[:32]
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))
