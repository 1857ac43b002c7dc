/*
 * Handshake patterns as data (sections 7 and 18.1) and the pskN modifiers
 * (section 9.4).
 */
#ifndef SC_NOISE_PATTERN_H
#define SC_NOISE_PATTERN_H

#include <stddef.h>
#include <stdint.h>

enum sc_token { SC_TOKEN_E = 1, SC_TOKEN_S, SC_TOKEN_EE, SC_TOKEN_ES, SC_TOKEN_SE, SC_TOKEN_SS, SC_TOKEN_PSK };

#define SC_PATTERN_MAX_MESSAGES 6
#define SC_PATTERN_MAX_TOKENS 10 /* 5 DH/key tokens + psk0 + pskN, with room */
#define SC_PATTERN_MAX_PRE 2
#define SC_PATTERN_MAX_PSKS SC_PATTERN_MAX_MESSAGES

/*
 * A resolved pattern: message i is sent by the initiator when i is even.
 * pre[0] lists the initiator's pre-message tokens, pre[1] the responder's.
 */
typedef struct sc_pattern {
    uint8_t pre[2][SC_PATTERN_MAX_PRE];
    uint8_t pre_len[2];
    uint8_t tokens[SC_PATTERN_MAX_MESSAGES][SC_PATTERN_MAX_TOKENS];
    uint8_t token_count[SC_PATTERN_MAX_MESSAGES];
    uint8_t message_count;
    uint8_t psk_count;
    uint8_t one_way; /* N, K, X: the responder never sends */
} sc_pattern;

/*
 * Resolves the pattern section of a protocol name (e.g. "XXpsk0+psk2") into
 * *out. Returns SECCHAT_OK, SECCHAT_ERR_NOISE_NAME (unknown base pattern,
 * malformed, repeated or unsorted psk modifier, pskN beyond the last message,
 * a modifier that is not lowercase alphanumeric) or
 * SECCHAT_ERR_NOISE_UNSUPPORTED (a well-formed modifier we do not implement,
 * e.g. fallback).
 */
int sc_pattern_resolve(sc_pattern *out, const char *section, size_t section_len);

/* 1 if the initiator (initiator != 0) or the responder sends its static key
 * in a handshake message ("s" token), else 0. */
int sc_pattern_sends_static(const sc_pattern *p, int initiator);

#endif /* SC_NOISE_PATTERN_H */
