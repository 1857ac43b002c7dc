/*
 * Test helper: hex text to bytes, strictly two digits per byte (no sign,
 * "0x" or spaces, which sscanf's %2x would take), for the peers and the
 * vector runner that read keys and messages as hex.
 */
#ifndef TESTS_COMMON_HEX_H
#define TESTS_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decodes len characters of hex into out (room for cap bytes); the byte
 * count, or -1 when the text is not hex, odd, or too long. */
long hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap);

#endif /* TESTS_COMMON_HEX_H */
