/* secchat_ws_url_parse: "ws://host[:port][/path][?query]" (RFC 6455 section 3, RFC 3986). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "secchat/ws.h"
#include "ws/http_fields.h"

/*
 * Longest URL looked at. Every acceptable URL is shorter ("ws://", a 255-byte
 * name, ":65535", a 1023-byte path), bar ports written with many leading
 * zeros; the cap keeps the scan bounded on unterminated or hostile input.
 */
#define URL_MAX 2048u
#define NAME_MAX_LEN 255u
#define LABEL_MAX_LEN 63u

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * The last label "is a number" the way the WHATWG URL standard sees it: all
 * decimal digits, or 0x followed by hex digits. Such a host is only accepted
 * as a dotted-quad IPv4 address; otherwise the resolver (inet_aton) would
 * read "127.1" or "0x7f.1" as an address nobody meant to write.
 */
static int ends_in_number(const char *label, size_t len)
{
    size_t i = 0;
    if (len >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
        for (i = 2; i < len && is_hex(label[i]); i++)
            ;
        return i == len;
    }
    for (; i < len && is_digit(label[i]); i++)
        ;
    return len > 0 && i == len;
}

/* A DNS name (RFC 1123 2.1 labels: letters, digits, inner '-', 1-63 each) or a dotted-quad IPv4 address. */
static int valid_name(const char *host, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && host[i] != '.') {
            if (!is_alnum(host[i]) && host[i] != '-')
                return 0;
            continue;
        }
        size_t label_len = i - start;
        /* Empty labels (leading, doubled or trailing dots) are refused, the root dot included. */
        if (label_len == 0 || label_len > LABEL_MAX_LEN || host[start] == '-' || host[i - 1] == '-')
            return 0;
        if (i == len && ends_in_number(host + start, label_len)) {
            char ip[NAME_MAX_LEN + 1];
            struct in_addr addr;
            memcpy(ip, host, len);
            ip[len] = '\0';
            return inet_pton(AF_INET, ip, &addr) == 1;
        }
        start = i + 1;
    }
    return 1;
}

/* Port: one or more decimal digits, 1..65535 (leading zeros allowed, as in RFC 3986 and WHATWG). */
static int parse_port(const char *s, size_t len, uint16_t *port)
{
    unsigned long v = 0;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > 65535)
            return 0;
    }
    if (v == 0)
        return 0;
    *port = (uint16_t)v;
    return 1;
}

static void copy_lower(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = sc_http_lower(src[i]);
    dst[len] = '\0';
}

/*
 * The host is stored in lowercase (names and IPv6 hex digits are
 * case-insensitive) so host_header is the same whatever case the caller used;
 * an IPv6 address is kept as written otherwise, not canonicalised.
 */
static int parse_url(secchat_ws_url *out, const char *url, size_t len)
{
    static const char scheme[] = "ws://";
    const size_t scheme_len = sizeof scheme - 1;
    sc_http_span prefix = {url, scheme_len};
    if (len < scheme_len || !sc_http_span_equals_nocase(prefix, scheme))
        return 0; /* also wss:// : TLS is not supported */

    /* Spaces, controls and non-ASCII are refused anywhere (a name must come punycoded), and so is a fragment. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return 0;
    }

    const char *auth = url + scheme_len;
    size_t auth_len = strcspn(auth, "/?");
    if (memchr(auth, '@', auth_len))
        return 0; /* user info: never sent, and a classic way to disguise the real host */

    const char *port_str = NULL;
    size_t port_len = 0;
    if (auth_len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (close == NULL)
            return 0;
        size_t in_len = (size_t)(close - auth) - 1;
        char ip[INET6_ADDRSTRLEN];
        struct in6_addr addr;
        if (in_len == 0 || in_len >= sizeof ip)
            return 0;
        memcpy(ip, auth + 1, in_len);
        ip[in_len] = '\0';
        /* Zone identifiers ("%25eth0") fail here too: they mean nothing to the server in a Host field. */
        if (inet_pton(AF_INET6, ip, &addr) != 1)
            return 0;
        copy_lower(out->host, ip, in_len);
        out->is_ipv6 = 1;
        size_t after = (size_t)(close - auth) + 1;
        if (after < auth_len) {
            if (auth[after] != ':')
                return 0;
            port_str = auth + after + 1;
            port_len = auth_len - after - 1;
        }
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        size_t host_len = colon ? (size_t)(colon - auth) : auth_len;
        if (!valid_name(auth, host_len))
            return 0;
        copy_lower(out->host, auth, host_len);
        if (colon) {
            port_str = colon + 1;
            port_len = auth_len - host_len - 1;
        }
    }
    out->port = 80;
    if (port_str != NULL && !parse_port(port_str, port_len, &out->port))
        return 0;

    /* The path goes into the request line as is; a bare "?query" gets the root path in front. */
    const char *rest = auth + auth_len;
    size_t rest_len = len - scheme_len - auth_len;
    const char *lead = rest_len == 0 || rest[0] == '?' ? "/" : "";
    size_t lead_len = strlen(lead);
    if (lead_len + rest_len >= sizeof out->path)
        return 0;
    memcpy(out->path, lead, lead_len);
    memcpy(out->path + lead_len, rest, rest_len);
    out->path[lead_len + rest_len] = '\0';

    const char *open = out->is_ipv6 ? "[" : "";
    const char *shut = out->is_ipv6 ? "]" : "";
    int n = out->port == 80 ? snprintf(out->host_header, sizeof out->host_header, "%s%s%s", open, out->host, shut)
                            : snprintf(out->host_header, sizeof out->host_header, "%s%s%s:%u", open, out->host, shut,
                                       (unsigned)out->port);
    return n > 0 && (size_t)n < sizeof out->host_header;
}

SECCHAT_API int secchat_ws_url_parse(secchat_ws_url *out, const char *url)
{
    if (out == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (url == NULL)
        return SECCHAT_ERR_INVALID_ARGUMENT;
    size_t len = strnlen(url, URL_MAX + 1);
    if (len > URL_MAX || !parse_url(out, url, len)) {
        /* No half-filled result: a caller ignoring the code must not connect somewhere. */
        memset(out, 0, sizeof *out);
        return SECCHAT_ERR_WS_URL;
    }
    return SECCHAT_OK;
}
