/*
 * The pattern table, written in the spec's own notation so it can be read
 * side by side with noise-rev34 sections 7.4-7.6 and 18.1. Messages are
 * separated by '|' and alternate "->" (initiator) and "<-" (responder),
 * starting with "->" as every pattern there does.
 */
#include <string.h>

#include "../common/internal.h"
#include "pattern.h"

struct pattern_def {
    const char *name;
    const char *pre_initiator; /* "-> ..." before "..." */
    const char *pre_responder; /* "<- ..." before "..." */
    const char *messages;
};

static const struct pattern_def patterns[] = {
    /* 7.4 one-way */
    {"N", "", "s", "e, es"},
    {"K", "s", "s", "e, es, ss"},
    {"X", "", "s", "e, es, s, ss"},
    /* 7.5 fundamental interactive */
    {"NN", "", "", "e|e, ee"},
    {"NK", "", "s", "e, es|e, ee"},
    {"NX", "", "", "e|e, ee, s, es"},
    {"KN", "s", "", "e|e, ee, se"},
    {"KK", "s", "s", "e, es, ss|e, ee, se"},
    {"KX", "s", "", "e|e, ee, se, s, es"},
    {"XN", "", "", "e|e, ee|s, se"},
    {"XK", "", "s", "e, es|e, ee|s, se"},
    {"XX", "", "", "e|e, ee, s, es|s, se"},
    {"IN", "", "", "e, s|e, ee, se"},
    {"IK", "", "s", "e, es, s, ss|e, ee, se"},
    {"IX", "", "", "e, s|e, ee, se, s, es"},
    /* 7.6 / 18.1 deferred */
    {"NK1", "", "s", "e|e, ee, es"},
    {"NX1", "", "", "e|e, ee, s|es"},
    {"X1N", "", "", "e|e, ee|s|se"},
    {"X1K", "", "s", "e, es|e, ee|s|se"},
    {"XK1", "", "s", "e|e, ee, es|s, se"},
    {"X1K1", "", "s", "e|e, ee, es|s|se"},
    {"X1X", "", "", "e|e, ee, s, es|s|se"},
    {"XX1", "", "", "e|e, ee, s|es, s, se"},
    {"X1X1", "", "", "e|e, ee, s|es, s|se"},
    {"K1N", "s", "", "e|e, ee|se"},
    {"K1K", "s", "s", "e, es|e, ee|se"},
    {"KK1", "s", "s", "e|e, ee, se, es"},
    {"K1K1", "s", "s", "e|e, ee, es|se"},
    {"K1X", "s", "", "e|e, ee, s, es|se"},
    {"KX1", "s", "", "e|e, ee, se, s|es"},
    {"K1X1", "s", "", "e|e, ee, s|se, es"},
    {"I1N", "", "", "e, s|e, ee|se"},
    {"I1K", "", "s", "e, es, s|e, ee|se"},
    {"IK1", "", "s", "e, s|e, ee, se, es"},
    {"I1K1", "", "s", "e, s|e, ee, es|se"},
    {"I1X", "", "", "e, s|e, ee, s, es|se"},
    {"IX1", "", "", "e, s|e, ee, se, s|es"},
    {"I1X1", "", "", "e, s|e, ee, s|se, es"},
};

static int token_from_word(const char *w, size_t n)
{
    static const struct {
        const char *word;
        int token;
    } words[] = {{"e", SC_TOKEN_E},   {"s", SC_TOKEN_S},   {"ee", SC_TOKEN_EE},
                 {"es", SC_TOKEN_ES}, {"se", SC_TOKEN_SE}, {"ss", SC_TOKEN_SS}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].word) == n && memcmp(words[i].word, w, n) == 0)
            return words[i].token;
    }
    return 0;
}

/* Parses "e, ee, s" into tokens; returns the count. The table is trusted. */
static uint8_t parse_tokens(const char *text, size_t len, uint8_t *tokens, size_t max)
{
    uint8_t count = 0;
    size_t i = 0;
    while (i < len && count < max) {
        while (i < len && (text[i] == ' ' || text[i] == ','))
            i++;
        size_t start = i;
        while (i < len && text[i] != ',' && text[i] != ' ')
            i++;
        if (i > start)
            tokens[count++] = (uint8_t)token_from_word(text + start, i - start);
    }
    return count;
}

static void load_definition(sc_pattern *p, const struct pattern_def *def)
{
    memset(p, 0, sizeof *p);
    p->pre_len[0] = parse_tokens(def->pre_initiator, strlen(def->pre_initiator), p->pre[0], SC_PATTERN_MAX_PRE);
    p->pre_len[1] = parse_tokens(def->pre_responder, strlen(def->pre_responder), p->pre[1], SC_PATTERN_MAX_PRE);
    const char *m = def->messages;
    while (*m != '\0' && p->message_count < SC_PATTERN_MAX_MESSAGES) {
        const char *bar = strchr(m, '|');
        size_t len = bar ? (size_t)(bar - m) : strlen(m);
        uint8_t i = p->message_count++;
        p->token_count[i] = parse_tokens(m, len, p->tokens[i], SC_PATTERN_MAX_TOKENS);
        m += len + (bar ? 1 : 0);
    }
    p->one_way = p->message_count == 1 && strlen(def->name) == 1;
}

/*
 * Applies one modifier ("psk0", "psk2", ...). *next_psk is the smallest psk
 * number still allowed: psk modifiers must be distinct and, since their order
 * does not matter, sorted (section 8.1), so "psk2+psk0" is not a valid name.
 */
static int apply_modifier(sc_pattern *p, const char *mod, size_t len, unsigned *next_psk)
{
    if (len >= 3 && memcmp(mod, "psk", 3) == 0) {
        unsigned n = 0;
        if (len == 3 || (len > 4 && mod[3] == '0')) /* "psk", or a leading zero: "psk01" */
            return SECCHAT_ERR_NOISE_NAME;
        for (size_t i = 3; i < len; i++) {
            if (mod[i] < '0' || mod[i] > '9' || n > SC_PATTERN_MAX_MESSAGES)
                return SECCHAT_ERR_NOISE_NAME;
            n = n * 10 + (unsigned)(mod[i] - '0');
        }
        if (n > p->message_count || n < *next_psk)
            return SECCHAT_ERR_NOISE_NAME;
        *next_psk = n + 1;

        /* psk0: start of the first message; pskN: end of message N. */
        size_t msg = n == 0 ? 0 : n - 1;
        uint8_t *toks = p->tokens[msg];
        if (p->token_count[msg] >= SC_PATTERN_MAX_TOKENS)
            return SECCHAT_ERR_NOISE_NAME;
        if (n == 0) {
            memmove(toks + 1, toks, p->token_count[msg]);
            toks[0] = SC_TOKEN_PSK;
        } else {
            toks[p->token_count[msg]] = SC_TOKEN_PSK;
        }
        p->token_count[msg]++;
        p->psk_count++;
        return SECCHAT_OK;
    }
    /* Well-formed (lowercase alphanumeric, starting with a letter) but not ours. */
    if (mod[0] < 'a' || mod[0] > 'z')
        return SECCHAT_ERR_NOISE_NAME;
    for (size_t i = 0; i < len; i++) {
        char c = mod[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return SECCHAT_ERR_NOISE_NAME;
    }
    return SECCHAT_ERR_NOISE_UNSUPPORTED;
}

int sc_pattern_resolve(sc_pattern *out, const char *section, size_t section_len)
{
    /* The base name is uppercase letters and digits (8.1); modifiers follow. */
    size_t base_len = 0;
    while (base_len < section_len && ((section[base_len] >= 'A' && section[base_len] <= 'Z') ||
                                      (section[base_len] >= '0' && section[base_len] <= '9')))
        base_len++;
    if (base_len == 0)
        return SECCHAT_ERR_NOISE_NAME;

    const struct pattern_def *def = NULL;
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        if (strlen(patterns[i].name) == base_len && memcmp(patterns[i].name, section, base_len) == 0) {
            def = &patterns[i];
            break;
        }
    }
    if (def == NULL)
        return SECCHAT_ERR_NOISE_NAME;
    load_definition(out, def);

    /* Modifiers: first appended directly, later ones after '+'. */
    const char *mods = section + base_len;
    size_t left = section_len - base_len;
    unsigned next_psk = 0;
    int unsupported = 0;
    while (left > 0) {
        const char *plus = memchr(mods, '+', left);
        size_t len = plus ? (size_t)(plus - mods) : left;
        if (len == 0)
            return SECCHAT_ERR_NOISE_NAME;
        int rc = apply_modifier(out, mods, len, &next_psk);
        if (rc == SECCHAT_ERR_NOISE_UNSUPPORTED)
            unsupported = 1; /* keep checking the rest for syntax */
        else if (rc != SECCHAT_OK)
            return rc;
        if (plus == NULL)
            break;
        mods = plus + 1;
        left -= len + 1;
        if (left == 0)
            return SECCHAT_ERR_NOISE_NAME; /* trailing '+' */
    }
    return unsupported ? SECCHAT_ERR_NOISE_UNSUPPORTED : SECCHAT_OK;
}

int sc_pattern_sends_static(const sc_pattern *p, int initiator)
{
    for (uint8_t m = initiator ? 0 : 1; m < p->message_count; m += 2) {
        if (memchr(p->tokens[m], SC_TOKEN_S, p->token_count[m]) != NULL)
            return 1;
    }
    return 0;
}
