/*
 * Member and room names (docs/protocol.md): 1 to 32 bytes of UTF-8 with no
 * whitespace or control characters; members may not call themselves
 * "Server". Uniqueness ignores ASCII case, so "alice" and "Alice" collide.
 */
#ifndef SC_SERVER_NAMES_H
#define SC_SERVER_NAMES_H

#include <stddef.h>

#include "secchat/server.h"

enum sc_name_problem {
    SC_NAME_OK = 0,
    SC_NAME_EMPTY,
    SC_NAME_TOO_LONG,
    SC_NAME_BAD_CHAR, /* whitespace, control character or invalid UTF-8 */
    SC_NAME_RESERVED  /* "Server" in any case */
};

/* Checks a member name (reserved names included) or a room name. */
enum sc_name_problem sc_name_check(const char *name, size_t len);
enum sc_name_problem sc_room_name_check(const char *name, size_t len);

/* Why a name was refused, as a sentence fragment for the member. */
const char *sc_name_problem_text(enum sc_name_problem p);

/* The comparison key of a valid name: ASCII letters lowered. */
void sc_name_fold(const char *name, char out[SECCHAT_NAME_MAX + 1]);

#endif /* SC_SERVER_NAMES_H */
