/*
 * noise_peer: plays one Noise party over stdin/stdout lines, so that a script
 * can pair the engine with another Noise implementation (see
 * tests/noise/interop_dissononce.py).
 *
 *   noise_peer PROTOCOL_NAME initiator|responder [options]
 *
 * Options (keys are lowercase or uppercase hex; "" is an empty value):
 *   -s, --static HEX       local static private key (32 bytes)
 *   -r, --remote HEX       remote static public key (32 bytes): the peer's
 *                          pre-message key, or the key the peer must send
 *   -k, --psk HEX          a 32-byte PSK; repeatable, in psk token order
 *   -p, --prologue HEX     prologue (default: empty)
 *   -n, --transport N      transport rounds after the handshake (default 3)
 *   -R, --rekey            continuous rekey (section 11.3): Rekey() the
 *                          sending cipher after every transport message sent
 *                          and the receiving cipher after every one received
 *
 * Line protocol: one line per item, '\n'-terminated, stdout flushed after
 * every line. HEX is lowercase on output; an empty value is the tag and a space.
 *
 *   we write   MSG <hex>       a Noise message we send (handshake or transport)
 *   we read    MSG <hex>       a Noise message from the peer
 *   we write   PAYLOAD <hex>   the decrypted payload of every message we read
 *   we write   HASH <hex>      the handshake hash, once the handshake is done
 *   we write   RS <hex>        the peer's static public key, if the handshake
 *                              gave us one (pre-message or transmitted)
 *   we write   DONE            after the last transport message; exit 0
 *   we write   ERROR <code> <text>   on any failure; exit 1. <code> is the
 *                              secchat error code and <text> its
 *                              secchat_strerror(). Failures of this tool itself
 *                              (bad arguments, a malformed input line, end of
 *                              input while a message was expected) are reported
 *                              as SECCHAT_ERR_INVALID_ARGUMENT (-101) with a
 *                              detail on stderr.
 *
 * The handshake is driven by secchat_noise_next_action(). Payloads sent:
 * handshake message n (0-based, counting both parties' messages) carries the
 * ASCII text "c-hs-<n>"; transport round i carries "c-tr-<i>".
 *
 * After the handshake, for each round i = 0 .. N-1: the initiator sends one
 * transport message and the responder reads it; then, unless the pattern is
 * one-way (N, K, X), the responder sends one and the initiator reads it.
 *
 * Example: an XX initiator ("->" lines it writes, "<-" lines it reads):
 *   -> MSG <e>                  (we send message 0 carrying "c-hs-0")
 *   <- MSG <e, ee, s, es ...>   (the peer's message 1)
 *   -> PAYLOAD <hex of the peer's payload 1>
 *   -> MSG <s, se ...>          (message 2 carrying "c-hs-2")
 *   -> HASH <h>
 *   -> RS <peer static>
 *   -> MSG <c-tr-0 encrypted>   <- MSG <...>   -> PAYLOAD <...>   ...
 *   -> DONE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "secchat.h"

#define MAX_PSKS 8

struct options {
    const char *protocol;
    secchat_noise_role role;
    uint8_t static_key[SECCHAT_NOISE_KEY_LEN];
    int has_static;
    uint8_t remote_key[SECCHAT_NOISE_KEY_LEN];
    int has_remote;
    uint8_t psks[MAX_PSKS][SECCHAT_NOISE_KEY_LEN];
    size_t psk_count;
    uint8_t prologue[1024];
    size_t prologue_len;
    int has_prologue;
    unsigned rounds;
    int rekey;
};

static uint8_t message[SECCHAT_NOISE_MAX_MESSAGE];
static uint8_t payload[SECCHAT_NOISE_MAX_MESSAGE];

static void usage(void)
{
    fprintf(stderr, "usage: noise_peer PROTOCOL_NAME initiator|responder [-s HEX] [-r HEX] [-k HEX]... "
                    "[-p HEX] [-n ROUNDS] [-R]\n");
}

/* Prints the ERROR line (and a detail on stderr) and returns the exit status 1. */
static int fail(int code, const char *detail)
{
    if (detail != NULL)
        fprintf(stderr, "noise_peer: %s\n", detail);
    printf("ERROR %d %s\n", code, secchat_strerror(code));
    fflush(stdout);
    return 1;
}

/* Decodes len characters of hex into out (capacity cap); -1 if malformed or too long. */
static int hex_bytes(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    long n = hex_decode(hex, len, out, cap);
    if (n < 0)
        return -1;
    *out_len = (size_t)n;
    return 0;
}

static int hex_key(const char *hex, uint8_t out[SECCHAT_NOISE_KEY_LEN])
{
    size_t n;
    return hex_bytes(hex, strlen(hex), out, SECCHAT_NOISE_KEY_LEN, &n) == 0 && n == SECCHAT_NOISE_KEY_LEN ? 0 : -1;
}

static void put_hex_line(const char *tag, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    fputs(tag, stdout);
    fputc(' ', stdout);
    for (size_t i = 0; i < len; i++) {
        fputc(digits[data[i] >> 4], stdout);
        fputc(digits[data[i] & 15], stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    if (argc < 3)
        return -1;
    o->protocol = argv[1];
    if (strcmp(argv[2], "initiator") == 0)
        o->role = SECCHAT_NOISE_INITIATOR;
    else if (strcmp(argv[2], "responder") == 0)
        o->role = SECCHAT_NOISE_RESPONDER;
    else
        return -1;
    o->rounds = 3;
    for (int i = 3; i < argc;) {
        const char *opt = argv[i++];
        if (strcmp(opt, "-R") == 0 || strcmp(opt, "--rekey") == 0) {
            o->rekey = 1;
            continue;
        }
        if (i >= argc)
            return -1;
        const char *val = argv[i++];
        if (strcmp(opt, "-s") == 0 || strcmp(opt, "--static") == 0) {
            if (hex_key(val, o->static_key) != 0)
                return -1;
            o->has_static = 1;
        } else if (strcmp(opt, "-r") == 0 || strcmp(opt, "--remote") == 0) {
            if (hex_key(val, o->remote_key) != 0)
                return -1;
            o->has_remote = 1;
        } else if (strcmp(opt, "-k") == 0 || strcmp(opt, "--psk") == 0) {
            if (o->psk_count == MAX_PSKS || hex_key(val, o->psks[o->psk_count]) != 0)
                return -1;
            o->psk_count++;
        } else if (strcmp(opt, "-p") == 0 || strcmp(opt, "--prologue") == 0) {
            if (hex_bytes(val, strlen(val), o->prologue, sizeof o->prologue, &o->prologue_len) != 0)
                return -1;
            o->has_prologue = 1;
        } else if (strcmp(opt, "-n") == 0 || strcmp(opt, "--transport") == 0) {
            char *end;
            unsigned long n = strtoul(val, &end, 10);
            if (*val == '\0' || *end != '\0' || n > 1000)
                return -1;
            o->rounds = (unsigned)n;
        } else {
            return -1;
        }
    }
    return 0;
}

/*
 * Reads one "MSG <hex>" line into message[]. Returns 0, or -1 with a detail in
 * why (end of input or a malformed line).
 */
static int read_msg_line(char **line, size_t *line_cap, size_t *msg_len, char *why, size_t why_len)
{
    ssize_t n = getline(line, line_cap, stdin);
    if (n < 0) {
        snprintf(why, why_len, "end of input while waiting for a MSG line");
        return -1;
    }
    size_t len = (size_t)n;
    while (len > 0 && ((*line)[len - 1] == '\n' || (*line)[len - 1] == '\r'))
        len--;
    if (len < 4 || memcmp(*line, "MSG ", 4) != 0) {
        snprintf(why, why_len, "expected a \"MSG <hex>\" line");
        return -1;
    }
    if (hex_bytes(*line + 4, len - 4, message, sizeof message, msg_len) != 0) {
        snprintf(why, why_len, "bad hex in MSG line");
        return -1;
    }
    return 0;
}

/* One-way patterns (N, K, X) have a one-character base name. */
static int is_one_way(const char *protocol)
{
    const char *p = strncmp(protocol, "Noise_", 6) == 0 ? protocol + 6 : protocol;
    return strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 1;
}

static int run(secchat_noise *noise, const struct options *o, char **line, size_t *line_cap)
{
    char text[32], why[128];
    size_t msg_len, payload_len, text_len;
    int rc;
    unsigned n = 0;

    for (;;) {
        secchat_noise_action action = secchat_noise_next_action(noise);
        if (action == SECCHAT_NOISE_ACTION_TRANSPORT)
            break;
        if (action == SECCHAT_NOISE_ACTION_WRITE) {
            text_len = (size_t)snprintf(text, sizeof text, "c-hs-%u", n);
            rc = secchat_noise_write_message(noise, (const uint8_t *)text, text_len, message, sizeof message, &msg_len);
            if (rc != SECCHAT_OK)
                return fail(rc, "write_message failed");
            put_hex_line("MSG", message, msg_len);
        } else if (action == SECCHAT_NOISE_ACTION_READ) {
            if (read_msg_line(line, line_cap, &msg_len, why, sizeof why) != 0)
                return fail(SECCHAT_ERR_INVALID_ARGUMENT, why);
            rc = secchat_noise_read_message(noise, message, msg_len, payload, sizeof payload, &payload_len);
            if (rc != SECCHAT_OK)
                return fail(rc, "read_message failed");
            put_hex_line("PAYLOAD", payload, payload_len);
        } else {
            return fail(SECCHAT_ERR_BAD_STATE, "handle reports FAILED");
        }
        n++;
    }

    uint8_t hash[SECCHAT_NOISE_MAX_HASH_LEN], rs[SECCHAT_NOISE_KEY_LEN];
    size_t hash_len;
    if ((rc = secchat_noise_handshake_hash(noise, hash, sizeof hash, &hash_len)) != SECCHAT_OK)
        return fail(rc, "handshake_hash failed");
    put_hex_line("HASH", hash, hash_len);
    rc = secchat_noise_remote_static(noise, rs);
    if (rc == SECCHAT_OK)
        put_hex_line("RS", rs, sizeof rs);
    else if (rc != SECCHAT_ERR_BAD_STATE)
        return fail(rc, "remote_static failed");

    int one_way = is_one_way(o->protocol);
    for (unsigned i = 0; i < o->rounds; i++) {
        for (int dir = 0; dir < (one_way ? 1 : 2); dir++) {
            /* dir 0: initiator -> responder; dir 1: responder -> initiator. */
            int sending = (dir == 0) == (o->role == SECCHAT_NOISE_INITIATOR);
            if (sending) {
                text_len = (size_t)snprintf(text, sizeof text, "c-tr-%u", i);
                rc = secchat_noise_encrypt(noise, (const uint8_t *)text, text_len, message, sizeof message, &msg_len);
                if (rc != SECCHAT_OK)
                    return fail(rc, "encrypt failed");
                put_hex_line("MSG", message, msg_len);
                if (o->rekey && (rc = secchat_noise_rekey_send(noise)) != SECCHAT_OK)
                    return fail(rc, "rekey_send failed");
            } else {
                if (read_msg_line(line, line_cap, &msg_len, why, sizeof why) != 0)
                    return fail(SECCHAT_ERR_INVALID_ARGUMENT, why);
                rc = secchat_noise_decrypt(noise, message, msg_len, payload, sizeof payload, &payload_len);
                if (rc != SECCHAT_OK)
                    return fail(rc, "decrypt failed");
                put_hex_line("PAYLOAD", payload, payload_len);
                if (o->rekey && (rc = secchat_noise_rekey_recv(noise)) != SECCHAT_OK)
                    return fail(rc, "rekey_recv failed");
            }
        }
    }
    puts("DONE");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    static struct options o;
    secchat_noise *noise = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    int rc, status;

    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return fail(SECCHAT_ERR_INVALID_ARGUMENT, "bad arguments");
    }
    if ((rc = secchat_noise_new(&noise, o.protocol, o.role)) != SECCHAT_OK)
        return fail(rc, "secchat_noise_new failed");
    if (o.has_prologue && (rc = secchat_noise_set_prologue(noise, o.prologue, o.prologue_len)) != SECCHAT_OK) {
        status = fail(rc, "set_prologue failed");
        goto out;
    }
    if (o.has_static && (rc = secchat_noise_set_local_static(noise, o.static_key)) != SECCHAT_OK) {
        status = fail(rc, "set_local_static failed");
        goto out;
    }
    if (o.has_remote && (rc = secchat_noise_set_remote_static(noise, o.remote_key)) != SECCHAT_OK) {
        status = fail(rc, "set_remote_static failed");
        goto out;
    }
    for (size_t i = 0; i < o.psk_count; i++) {
        if ((rc = secchat_noise_add_psk(noise, o.psks[i])) != SECCHAT_OK) {
            status = fail(rc, "add_psk failed");
            goto out;
        }
    }
    status = run(noise, &o, &line, &line_cap);
out:
    secchat_noise_free(noise);
    free(line);
    return status;
}
