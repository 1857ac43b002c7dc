/*
 * The HTTP/1.1 side of the WebSocket opening handshake (RFC 6455 section 4),
 * which wslay leaves to its user: request parsing and refusals for servers,
 * request writing and response checking for clients, and the accept value.
 * Everything works on complete header blocks held in memory.
 */
#ifndef SC_WS_HTTP_H
#define SC_WS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "secchat/ws.h"

/* Length of a Sec-WebSocket-Key (16 bytes in base64) and of an accept value
 * (20-byte SHA-1 in base64), without the terminating NUL. */
#define SC_WS_KEY_LEN 24
#define SC_WS_ACCEPT_LEN 28

/*
 * Length of the header block at the start of buf, up to and including the
 * empty line (CRLF CRLF), or 0 when it is not complete yet.
 */
size_t sc_http_header_end(const uint8_t *buf, size_t len);

typedef struct sc_http_request_info {
    char path[1024];              /* request target, NUL-terminated */
    char key[SC_WS_KEY_LEN + 1];  /* Sec-WebSocket-Key as received */
} sc_http_request_info;

/*
 * Server: checks a complete request header block (as delimited by
 * sc_http_header_end): "GET <target> HTTP/1.1", CRLF line ends, well-formed
 * fields (token name, no space before the colon, no obsolete line folding,
 * no control characters), at most SECCHAT_WS_MAX_HEADER_FIELDS of them,
 * exactly one Host, Upgrade and Connection as case-insensitive token lists
 * containing "websocket" and "upgrade", Sec-WebSocket-Version 13 and exactly
 * one Sec-WebSocket-Key that is base64 of 16 bytes. Other fields (Origin,
 * Sec-WebSocket-Protocol, -Extensions, ...) are ignored: we select none.
 * Returns SECCHAT_OK or HTTP_MALFORMED, HTTP_TOO_LARGE, HTTP_NOT_WEBSOCKET,
 * HTTP_WS_VERSION, HTTP_WS_KEY.
 */
int sc_http_parse_request(const uint8_t *block, size_t len, sc_http_request_info *out);

/* HTTP status that answers a parse error: 426 for HTTP_NOT_WEBSOCKET and
 * HTTP_WS_VERSION, 400 for the others. */
int sc_http_status_for(int error);

/* Server: appends the 101 Switching Protocols response for key. */
int sc_http_write_switching(sc_buf *out, const char *key);

/*
 * Server: appends the refusal for error: status line (400 Bad Request or
 * 426 Upgrade Required), Content-Type text/plain, Content-Length,
 * Connection: close, for 426 also "Upgrade: websocket" and
 * "Sec-WebSocket-Version: 13", and a one-line body saying what was wrong.
 */
int sc_http_write_refusal(sc_buf *out, int error);

/* Client: a fresh random key, base64 of 16 random bytes. */
int sc_ws_new_key(char key[SC_WS_KEY_LEN + 1]);

/* base64(SHA-1(key || "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), NUL-terminated. */
void sc_ws_accept_value(const char *key, char accept[SC_WS_ACCEPT_LEN + 1]);

/* Client: appends the GET upgrade request for url with key (no subprotocol,
 * no extension, Sec-WebSocket-Version: 13). */
int sc_http_write_request(sc_buf *out, const secchat_ws_url *url, const char *key);

/*
 * Client: checks a complete response header block: "HTTP/1.1 101 ...",
 * Upgrade: websocket, Connection: upgrade (token lists, any case), the
 * accept value for key, and no Sec-WebSocket-Extensions or -Protocol.
 * *status receives the status code when the status line parsed (else 0).
 * Returns SECCHAT_OK or HTTP_MALFORMED, HTTP_TOO_LARGE, HTTP_STATUS,
 * HTTP_NOT_WEBSOCKET, HTTP_WS_ACCEPT, HTTP_UNREQUESTED.
 */
int sc_http_check_response(const uint8_t *block, size_t len, const char *key, int *status);

#endif /* SC_WS_HTTP_H */
