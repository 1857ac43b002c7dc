/* secchat_ws_url_parse (lib/ws/url.c): ws:// URLs accepted and refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secchat.h"

typedef struct good_url {
    const char *url;
    const char *host;
    uint16_t port;
    const char *path;
    const char *host_header;
    int is_ipv6;
} good_url;

static const good_url good_urls[] = {
    {"ws://127.0.0.1:8080", "127.0.0.1", 8080, "/", "127.0.0.1:8080", 0},
    {"ws://[::1]:9000/chat?x=1", "::1", 9000, "/chat?x=1", "[::1]:9000", 1},
    {"ws://example.com", "example.com", 80, "/", "example.com", 0},
    {"ws://EXAMPLE.com:80/a/b", "example.com", 80, "/a/b", "example.com", 0},
    {"WS://Example.COM/", "example.com", 80, "/", "example.com", 0},
    {"wS://example.com:8080/", "example.com", 8080, "/", "example.com:8080", 0},
    {"ws://example.com?x=1", "example.com", 80, "/?x=1", "example.com", 0},
    {"ws://example.com:81?x=1", "example.com", 81, "/?x=1", "example.com:81", 0},
    {"ws://example.com/?x=1", "example.com", 80, "/?x=1", "example.com", 0},
    {"ws://example.com/", "example.com", 80, "/", "example.com", 0},
    {"ws://example.com//double", "example.com", 80, "//double", "example.com", 0},
    /* '@' and ':' are ordinary in a path or query; percent escapes pass through unchanged. */
    {"ws://example.com/p%20q/a@b:c?u=v@w&x=/y", "example.com", 80, "/p%20q/a@b:c?u=v@w&x=/y", "example.com", 0},
    {"ws://[2001:DB8::1]", "2001:db8::1", 80, "/", "[2001:db8::1]", 1},
    {"ws://[2001:db8::1]:80/", "2001:db8::1", 80, "/", "[2001:db8::1]", 1},
    {"ws://[::ffff:192.0.2.1]:443/x", "::ffff:192.0.2.1", 443, "/x", "[::ffff:192.0.2.1]:443", 1},
    {"ws://[1:2:3:4:5:6:7:8]:1", "1:2:3:4:5:6:7:8", 1, "/", "[1:2:3:4:5:6:7:8]:1", 1},
    {"ws://a-b.c-d.example:65535/", "a-b.c-d.example", 65535, "/", "a-b.c-d.example:65535", 0},
    {"ws://h:1", "h", 1, "/", "h:1", 0},
    /* Leading zeros are digits too (RFC 3986 port = *DIGIT); the Host field gets the plain number. */
    {"ws://h:080/", "h", 80, "/", "h", 0},
    {"ws://h:00443", "h", 443, "/", "h:443", 0},
    {"ws://localhost:9000/chat", "localhost", 9000, "/chat", "localhost:9000", 0},
    {"ws://255.255.255.255", "255.255.255.255", 80, "/", "255.255.255.255", 0},
    {"ws://0.0.0.0:1", "0.0.0.0", 1, "/", "0.0.0.0:1", 0},
    {"ws://xn--caf-dma.example", "xn--caf-dma.example", 80, "/", "xn--caf-dma.example", 0},
    {"ws://1a.example", "1a.example", 80, "/", "1a.example", 0},
    {"ws://123.example.com", "123.example.com", 80, "/", "123.example.com", 0},
    {"ws://example.1a", "example.1a", 80, "/", "example.1a", 0},
};

static void test_accepted_urls_and_their_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good_urls / sizeof good_urls[0]; i++) {
        const good_url *g = &good_urls[i];
        secchat_ws_url u;
        memset(&u, 0x55, sizeof u);
        int rc = secchat_ws_url_parse(&u, g->url);
        if (rc != SECCHAT_OK)
            fail_msg("%s: refused with %d", g->url, rc);
        if (strcmp(u.host, g->host) != 0 || u.port != g->port || strcmp(u.path, g->path) != 0 ||
            strcmp(u.host_header, g->host_header) != 0 || u.is_ipv6 != g->is_ipv6)
            fail_msg("%s: host '%s' port %u path '%s' host_header '%s' ipv6 %d", g->url, u.host, (unsigned)u.port,
                     u.path, u.host_header, u.is_ipv6);
    }
}

static const char *const bad_urls[] = {
    /* scheme */
    "wss://example.com/",
    "WSS://example.com/",
    "http://example.com/",
    "https://example.com/",
    "ws:/example.com/",
    "ws:example.com",
    "ws//example.com",
    "ws:://example.com",
    "example.com",
    "//example.com/",
    "",
    "ws",
    /* host */
    "ws://",
    "ws:///",
    "ws:///chat",
    "ws://?x=1",
    "ws://:80",
    "ws://:80/",
    "ws://host_name/",
    "ws://-host/",
    "ws://host-/",
    "ws://a.-b/",
    "ws://a..b/",
    "ws://.host/",
    "ws://host./",
    "ws://host\\evil/",
    "ws://ex%41mple.com/",
    "ws://caf\xc3\xa9.example/",
    "ws://1.2.3",
    "ws://256.1.1.1",
    "ws://1.2.3.4.5",
    "ws://127.1",
    "ws://2130706433/",
    "ws://0x7f.1",
    "ws://0x7f000001",
    "ws://foo.123",
    "ws://01.2.3.4",
    "ws://::1/",
    "ws://::1:80/",
    /* IPv6 */
    "ws://[::1",
    "ws://[::1/",
    "ws://[zz]:1",
    "ws://[127.0.0.1]",
    "ws://[]",
    "ws://[]:80",
    "ws://[::1]x",
    "ws://[::1]80",
    "ws://[::1]:",
    "ws://[::1]:0",
    "ws://[::1]]",
    "ws://[[::1]]",
    "ws://[fe80::1%25eth0]/",
    "ws://[1:2:3:4:5:6:7:8:9]/",
    "ws://x[::1]/",
    /* port */
    "ws://host:",
    "ws://host:/",
    "ws://host:0",
    "ws://host:00",
    "ws://host:65536",
    "ws://host:99999999999999999999999",
    "ws://host:80x",
    "ws://host:x80",
    "ws://host:+80",
    "ws://host:-1",
    "ws://host:0x50",
    "ws://host:80:81",
    "ws://host::80",
    /* user info, fragments */
    "ws://user@host/",
    "ws://user:pw@host/",
    "ws://@host/",
    "ws://host@/",
    "ws://host/#frag",
    "ws://host#frag",
    "ws://host/chat?x=1#frag",
    "ws://host/#",
    /* spaces and control characters anywhere */
    " ws://host/",
    "ws://host/ ",
    "ws://ho st/",
    "ws://host/a b",
    "ws://host:80 /",
    "ws://host/\ta",
    "ws://host/\r\nX-Evil: 1",
    "ws://host/\x01",
    "ws://host/\x7f",
    "ws://host/caf\xc3\xa9",
    "\tws://host/",
};

static void test_refused_urls_leave_nothing_behind(void **state)
{
    (void)state;
    secchat_ws_url zero;
    memset(&zero, 0, sizeof zero);
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        secchat_ws_url u;
        memset(&u, 0x55, sizeof u);
        int rc = secchat_ws_url_parse(&u, bad_urls[i]);
        if (rc != SECCHAT_ERR_WS_URL)
            fail_msg("'%s': got %d (host '%s' path '%s')", bad_urls[i], rc, u.host, u.path);
        /* Nothing half-parsed is left behind for a caller that ignores the code: every byte (padding too, as
         * the parser clears the whole struct) is zero, so the object representations are compared. */
        /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
        if (memcmp(&u, &zero, sizeof u) != 0)
            fail_msg("'%s': output not zeroed", bad_urls[i]);
    }
}

static char *make_url(const char *prefix, char fill, size_t n, const char *suffix)
{
    size_t plen = strlen(prefix);
    size_t slen = strlen(suffix);
    char *s = malloc(plen + n + slen + 1);
    assert_non_null(s);
    memcpy(s, prefix, plen);
    memset(s + plen, fill, n);
    memcpy(s + plen + n, suffix, slen + 1);
    return s;
}

/* A name of total length n made of 63-character labels. */
static char *make_name(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (i % 64 == 63) ? '.' : 'a';
    s[n] = '\0';
    if (n > 0 && s[n - 1] == '.')
        s[n - 1] = 'b';
    return s;
}

static void test_host_label_and_path_length_limits(void **state)
{
    (void)state;
    secchat_ws_url u;
    char url[2048];

    /* Host: 255 characters is the DNS limit; 256 and 300 are refused. */
    char *name = make_name(255);
    snprintf(url, sizeof url, "ws://%s:65535/", name);
    assert_int_equal(secchat_ws_url_parse(&u, url), SECCHAT_OK);
    assert_string_equal(u.host, name);
    assert_int_equal(strlen(u.host_header), 255 + 6);
    free(name);
    for (size_t n = 256; n <= 300; n += 44) {
        name = make_name(n);
        snprintf(url, sizeof url, "ws://%s/", name);
        assert_int_equal(secchat_ws_url_parse(&u, url), SECCHAT_ERR_WS_URL);
        free(name);
    }
    char *flat = make_url("ws://", 'a', 300, "/");
    assert_int_equal(secchat_ws_url_parse(&u, flat), SECCHAT_ERR_WS_URL);
    free(flat);

    /* Labels: 63 characters at most. */
    char *label = make_url("ws://", 'a', 63, ".example/");
    assert_int_equal(secchat_ws_url_parse(&u, label), SECCHAT_OK);
    free(label);
    label = make_url("ws://", 'a', 64, ".example/");
    assert_int_equal(secchat_ws_url_parse(&u, label), SECCHAT_ERR_WS_URL);
    free(label);

    /* Path: it must fit path[1024] with its NUL. */
    char *path = make_url("ws://h/", 'p', 1022, "");
    assert_int_equal(secchat_ws_url_parse(&u, path), SECCHAT_OK);
    assert_int_equal(strlen(u.path), 1023);
    free(path);
    path = make_url("ws://h/", 'p', 1023, "");
    assert_int_equal(secchat_ws_url_parse(&u, path), SECCHAT_ERR_WS_URL);
    free(path);
    /* A bare query gets "/" in front, which counts too: "/?" and 1021 more. */
    path = make_url("ws://h?", 'q', 1021, "");
    assert_int_equal(secchat_ws_url_parse(&u, path), SECCHAT_OK);
    assert_int_equal(strlen(u.path), 1023);
    assert_int_equal(u.path[0], '/');
    free(path);
    path = make_url("ws://h?", 'q', 1022, "");
    assert_int_equal(secchat_ws_url_parse(&u, path), SECCHAT_ERR_WS_URL);
    free(path);
    path = make_url("ws://h/", 'p', 2000, "");
    assert_int_equal(secchat_ws_url_parse(&u, path), SECCHAT_ERR_WS_URL);
    free(path);
    /* Far longer than anything acceptable: refused without reading it all. */
    path = make_url("ws://h/", 'p', 100000, "");
    assert_int_equal(secchat_ws_url_parse(&u, path), SECCHAT_ERR_WS_URL);
    free(path);

    /* IPv6 text longer than any address. */
    char *v6 = make_url("ws://[", '0', 60, "::1]/");
    assert_int_equal(secchat_ws_url_parse(&u, v6), SECCHAT_ERR_WS_URL);
    free(v6);
}

static void test_null_arguments(void **state)
{
    (void)state;
    secchat_ws_url u;
    assert_int_equal(secchat_ws_url_parse(NULL, "ws://h/"), SECCHAT_ERR_INVALID_ARGUMENT);
    memset(&u, 0x55, sizeof u);
    assert_int_equal(secchat_ws_url_parse(&u, NULL), SECCHAT_ERR_INVALID_ARGUMENT);
    assert_int_equal(u.host[0], '\0');
    assert_int_equal(u.port, 0);
    assert_int_equal(u.is_ipv6, 0);
}

/* Every port 1..65535 round-trips; host_header omits exactly port 80. */
static void test_every_port_and_its_host_header(void **state)
{
    (void)state;
    secchat_ws_url u;
    char url[64];
    char want[64];
    for (unsigned port = 1; port <= 65535; port++) {
        snprintf(url, sizeof url, "ws://[::1]:%u/", port);
        assert_int_equal(secchat_ws_url_parse(&u, url), SECCHAT_OK);
        assert_int_equal(u.port, port);
        if (port == 80)
            snprintf(want, sizeof want, "[::1]");
        else
            snprintf(want, sizeof want, "[::1]:%u", port);
        assert_string_equal(u.host_header, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_urls_and_their_fields),
        cmocka_unit_test(test_refused_urls_leave_nothing_behind),
        cmocka_unit_test(test_host_label_and_path_length_limits),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_every_port_and_its_host_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
