/* The server's pure rules: names (names.c), chat lines (line.c), listen addresses (address.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>

#include "secchat.h"
#include "server/address.h"
#include "server/line.h"
#include "server/names.h"
#include "server/rate.h"

static enum sc_name_problem name(const char *s)
{
    return sc_name_check(s, strlen(s));
}

static void test_names_valid(void **state)
{
    (void)state;
    assert_int_equal(name("Alice"), SC_NAME_OK);
    assert_int_equal(name("a"), SC_NAME_OK);
    assert_int_equal(name("Zoë"), SC_NAME_OK);
    assert_int_equal(name("李雷"), SC_NAME_OK);
    assert_int_equal(name("x-y_z.1"), SC_NAME_OK);
    assert_int_equal(name("Servers"), SC_NAME_OK);
    assert_int_equal(name("0123456789abcdef0123456789abcdef"), SC_NAME_OK); /* 32 bytes */
    assert_int_equal(name("ééééééééééééééé\xc3\xa9"), SC_NAME_OK);          /* 32 bytes of 2-byte characters */
}

static void test_names_refused(void **state)
{
    (void)state;
    assert_int_equal(name(""), SC_NAME_EMPTY);
    assert_int_equal(name("0123456789abcdef0123456789abcdefX"), SC_NAME_TOO_LONG);
    assert_int_equal(name("two words"), SC_NAME_BAD_CHAR);
    assert_int_equal(name("tab\there"), SC_NAME_BAD_CHAR);
    assert_int_equal(name("new\nline"), SC_NAME_BAD_CHAR);
    assert_int_equal(name("del\x7f"), SC_NAME_BAD_CHAR);
    assert_int_equal(name("c1\xc2\x85"), SC_NAME_BAD_CHAR);      /* U+0085 */
    assert_int_equal(name("nb\xc2\xa0sp"), SC_NAME_BAD_CHAR);    /* U+00A0 */
    assert_int_equal(name("id\xe3\x80\x80sp"), SC_NAME_BAD_CHAR); /* U+3000 */
    assert_int_equal(name("ls\xe2\x80\xa8"), SC_NAME_BAD_CHAR);  /* U+2028 */
    assert_int_equal(name("bad\xff"), SC_NAME_BAD_CHAR);         /* not UTF-8 */
    assert_int_equal(name("over\xc0\xaflong"), SC_NAME_BAD_CHAR);
    assert_int_equal(name("Server"), SC_NAME_RESERVED);
    assert_int_equal(name("server"), SC_NAME_RESERVED);
    assert_int_equal(name("SERVER"), SC_NAME_RESERVED);
    /* Rooms follow the same rules but "Server" is a fine room name. */
    assert_int_equal(sc_room_name_check("Server", 6), SC_NAME_OK);
    assert_int_equal(sc_room_name_check("a b", 3), SC_NAME_BAD_CHAR);
    for (int p = SC_NAME_EMPTY; p <= SC_NAME_RESERVED; p++)
        assert_non_null(strstr(sc_name_problem_text((enum sc_name_problem)p), "name"));
}

static void test_name_fold(void **state)
{
    (void)state;
    char a[SECCHAT_NAME_MAX + 1], b[SECCHAT_NAME_MAX + 1];
    sc_name_fold("ALICE", a);
    sc_name_fold("alice", b);
    assert_string_equal(a, b);
    sc_name_fold("Zoë", a);
    assert_string_equal(a, "zoë"); /* only ASCII is folded */
    sc_name_fold("ZOË", b);
    assert_string_not_equal(a, b);
}

static void test_line_text_and_escape(void **state)
{
    (void)state;
    sc_line l;
    sc_line_parse("hello", 5, &l);
    assert_false(l.is_command);
    assert_int_equal(l.text_len, 5);
    assert_memory_equal(l.text, "hello", 5);

    sc_line_parse("//join me", 9, &l);
    assert_false(l.is_command);
    assert_int_equal(l.text_len, 8);
    assert_memory_equal(l.text, "/join me", 8);

    sc_line_parse("", 0, &l);
    assert_false(l.is_command);
    assert_int_equal(l.text_len, 0);
}

static void test_line_commands(void **state)
{
    (void)state;
    sc_line l;
    const char *s = "/MSG  Bob   hi there";
    sc_line_parse(s, strlen(s), &l);
    assert_true(l.is_command);
    assert_string_equal(l.command, "msg");
    assert_string_equal(l.args, "Bob   hi there");

    char word[SECCHAT_NAME_MAX + 1];
    const char *rest;
    assert_int_equal(sc_line_first_word(l.args, word, sizeof word, &rest), 0);
    assert_string_equal(word, "Bob");
    assert_string_equal(rest, "hi there");

    sc_line_parse("/who", 4, &l);
    assert_string_equal(l.command, "who");
    assert_string_equal(l.args, "");

    sc_line_parse("/", 1, &l);
    assert_true(l.is_command);
    assert_string_equal(l.command, "");

    s = "/averyveryverylongcommandname x";
    sc_line_parse(s, strlen(s), &l);
    assert_true(l.is_command);
    assert_string_equal(l.command, ""); /* too long: no command matches it */

    assert_int_equal(sc_line_first_word("", word, sizeof word, &rest), -1);
    assert_int_equal(sc_line_first_word("0123456789abcdef0123456789abcdefX y", word, sizeof word, &rest), -1);
}

static void test_address_parse(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    char text[SC_ADDRESS_TEXT_MAX];
    assert_int_equal(sc_address_parse("127.0.0.1:8080", &ss, &len), SECCHAT_OK);
    sc_address_format((struct sockaddr *)&ss, text);
    assert_string_equal(text, "127.0.0.1:8080");
    assert_int_equal(sc_address_parse("[::1]:0", &ss, &len), SECCHAT_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    sc_address_format((struct sockaddr *)&ss, text);
    assert_string_equal(text, "[::1]:0");
    assert_int_equal(sc_address_parse("localhost:65535", &ss, &len), SECCHAT_OK);

    const char *bad[] = {"",          "127.0.0.1",      "127.0.0.1:",     "127.0.0.1:65536", "127.0.0.1:+80",
                         ":80",       "::1:80",         "[::1]80",        "[::1]:x",         "[127.0.0.1]:80",
                         "[::1:80",   "127.0.0.1: 80",  "256.0.0.1:80",   "no.such.host.invalid:80"};
    /* (No unresolvable host name here: that would need DNS.) */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sc_address_parse(bad[i], &ss, &len), SECCHAT_ERR_ADDRESS);
}

/* The message rate limit: burst at once, then rate per second, never more. */
static void test_rate_limit(void **state)
{
    (void)state;
    const unsigned rate = 20, burst = 5; /* one token every 50 ms */
    uint64_t tat = 0, t = 1000000;
    for (unsigned i = 0; i < burst; i++)
        assert_int_equal(sc_rate_allow(&tat, t, rate, burst), 1);
    assert_int_equal(sc_rate_allow(&tat, t, rate, burst), 0);      /* the bucket is empty */
    assert_int_equal(sc_rate_allow(&tat, t + 49999, rate, burst), 0); /* not yet refilled */
    assert_int_equal(sc_rate_allow(&tat, t + 50000, rate, burst), 1); /* one token back */
    assert_int_equal(sc_rate_allow(&tat, t + 50000, rate, burst), 0);
    /* After a long pause the bucket is full again, and no fuller. */
    t += 10000000;
    unsigned allowed = 0;
    for (unsigned i = 0; i < 2 * burst; i++)
        allowed += (unsigned)sc_rate_allow(&tat, t, rate, burst);
    assert_int_equal(allowed, burst);
    /* A sender at half the rate is never refused; one at twice the rate gets half through. */
    tat = 0, t = 50000000;
    for (unsigned i = 0; i < 1000; i++, t += 100000)
        assert_int_equal(sc_rate_allow(&tat, t, rate, burst), 1);
    tat = 0, allowed = 0;
    for (unsigned i = 0; i < 1000; i++, t += 25000)
        allowed += (unsigned)sc_rate_allow(&tat, t, rate, burst);
    assert_in_range(allowed, 500, 500 + burst);
    /* burst 1: evenly spaced only. */
    tat = 0, t = 90000000;
    assert_int_equal(sc_rate_allow(&tat, t, rate, 1), 1);
    assert_int_equal(sc_rate_allow(&tat, t + 1, rate, 1), 0);
    assert_int_equal(sc_rate_allow(&tat, t + 50000, rate, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_valid),         cmocka_unit_test(test_names_refused),
        cmocka_unit_test(test_name_fold),           cmocka_unit_test(test_line_text_and_escape),
        cmocka_unit_test(test_line_commands),       cmocka_unit_test(test_address_parse),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests_name("server rules", tests, NULL, NULL);
}
