/* Error codes and version (lib/common/error.c, version.c) against include/secchat/common.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "secchat.h"

/* Every code of enum secchat_error; keep in step with common.h. */
static const int codes[] = {
    SECCHAT_OK,
    SECCHAT_ERR_INVALID_ARGUMENT,
    SECCHAT_ERR_NO_MEMORY,
    SECCHAT_ERR_BUFFER_TOO_SMALL,
    SECCHAT_ERR_BAD_STATE,
    SECCHAT_ERR_CRYPTO_INIT,
    SECCHAT_ERR_NOISE_NAME,
    SECCHAT_ERR_NOISE_UNSUPPORTED,
    SECCHAT_ERR_NOISE_AESGCM_UNAVAILABLE,
    SECCHAT_ERR_NOISE_MISSING_KEY,
    SECCHAT_ERR_NOISE_OUT_OF_TURN,
    SECCHAT_ERR_NOISE_HANDSHAKE_DONE,
    SECCHAT_ERR_NOISE_HANDSHAKE_PENDING,
    SECCHAT_ERR_NOISE_ONE_WAY,
    SECCHAT_ERR_NOISE_DECRYPT,
    SECCHAT_ERR_NOISE_MSG_TOO_LARGE,
    SECCHAT_ERR_NOISE_MSG_TRUNCATED,
    SECCHAT_ERR_NOISE_NONCE_EXHAUSTED,
    SECCHAT_ERR_NOISE_DH,
    SECCHAT_ERR_NOISE_PEER_KEY_MISMATCH,
    SECCHAT_ERR_NOISE_TOO_MANY_PSKS,
    SECCHAT_ERR_HTTP_MALFORMED,
    SECCHAT_ERR_HTTP_TOO_LARGE,
    SECCHAT_ERR_HTTP_NOT_WEBSOCKET,
    SECCHAT_ERR_HTTP_WS_VERSION,
    SECCHAT_ERR_HTTP_WS_KEY,
    SECCHAT_ERR_HTTP_STATUS,
    SECCHAT_ERR_HTTP_WS_ACCEPT,
    SECCHAT_ERR_HTTP_UNREQUESTED,
    SECCHAT_ERR_WS_URL,
    SECCHAT_ERR_WS_PROTOCOL,
    SECCHAT_ERR_WS_MESSAGE_TOO_BIG,
    SECCHAT_ERR_WS_TEXT_MESSAGE,
    SECCHAT_ERR_WS_INVALID_UTF8,
    SECCHAT_ERR_WS_CLOSED,
    SECCHAT_ERR_WS_OUTPUT_FULL,
    SECCHAT_ERR_WS_CONNECTION_LOST,
    SECCHAT_ERR_SESSION_PEER_REJECTED,
    SECCHAT_ERR_SESSION_HANDSHAKE,
    SECCHAT_ERR_SESSION_DECRYPT,
    SECCHAT_ERR_MESSAGE_JSON,
    SECCHAT_ERR_MESSAGE_NOT_OBJECT,
    SECCHAT_ERR_MESSAGE_NO_CONTENT,
    SECCHAT_ERR_MESSAGE_FIELD_TYPE,
    SECCHAT_ERR_MESSAGE_UTF8,
    SECCHAT_ERR_MESSAGE_NUL,
    SECCHAT_ERR_MESSAGE_DUPLICATE,
    SECCHAT_ERR_MESSAGE_TOO_LARGE,
    SECCHAT_ERR_KEY_IO,
    SECCHAT_ERR_KEY_PERMISSIONS,
    SECCHAT_ERR_KEY_MALFORMED,
    SECCHAT_ERR_KEY_WRONG_TYPE,
    SECCHAT_ERR_KEY_EXISTS,
    SECCHAT_ERR_KNOWN_SERVER_UNKNOWN,
    SECCHAT_ERR_KNOWN_SERVER_CHANGED,
    SECCHAT_ERR_KEY_NOT_AUTHORIZED,
    SECCHAT_ERR_ADDRESS,
    SECCHAT_ERR_LISTEN,
    SECCHAT_ERR_CONNECT,
    SECCHAT_ERR_THREAD,
    SECCHAT_ERR_NOT_RUNNING,
    SECCHAT_ERR_NO_SUCH_MEMBER,
    SECCHAT_ERR_TIMEOUT,
    SECCHAT_ERR_LIMIT,
    SECCHAT_ERR_RATE_LIMITED,
};
#define NCODES (sizeof codes / sizeof codes[0])

/* Codes that common.h does not define, around and between the real ones. */
static const int unknown[] = {1,    -1,   -99,  -100, -106, -200, -216, -300,    -317,
                              -400, -404, -500, -509, -600, -609, -700, -710, -800, 42,   INT_MAX, INT_MIN};

/* Each known code has its own text: a caller can tell them apart in a log. */
static void test_strerror_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = secchat_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, secchat_strerror(codes[j]));
    }
}

/* Unknown codes share one generic text, unlike any known code's. */
static void test_strerror_unknown(void **state)
{
    (void)state;
    const char *generic = secchat_strerror(unknown[0]);
    assert_non_null(generic);
    assert_true(strlen(generic) > 0);
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_string_equal(secchat_strerror(unknown[i]), generic);
    for (size_t i = 0; i < NCODES; i++)
        assert_string_not_equal(secchat_strerror(codes[i]), generic);
}

static void test_error_class(void **state)
{
    (void)state;
    assert_int_equal(secchat_error_class(SECCHAT_ERR_NOISE_DECRYPT), -200);
    assert_int_equal(secchat_error_class(-209), -200);
    assert_int_equal(secchat_error_class(-101), -100);
    assert_int_equal(secchat_error_class(0), 0);
    assert_int_equal(secchat_error_class(5), 0);
    /* The most negative int has no positive counterpart: the class must not negate it. */
    assert_int_equal(secchat_error_class(INT_MIN), INT_MIN - INT_MIN % 100);
    assert_int_equal(secchat_error_class(SECCHAT_ERR_WS_CLOSED), -300);
    assert_int_equal(secchat_error_class(SECCHAT_ERR_SESSION_DECRYPT), -400);
    assert_int_equal(secchat_error_class(SECCHAT_ERR_MESSAGE_TOO_LARGE), -500);
    assert_int_equal(secchat_error_class(SECCHAT_ERR_KNOWN_SERVER_CHANGED), -600);
    assert_int_equal(secchat_error_class(SECCHAT_ERR_TIMEOUT), -700);
    /* Every code's class is its hundreds, as common.h promises. */
    for (size_t i = 1; i < NCODES; i++) {
        int want = codes[i] <= -700   ? -700
                   : codes[i] <= -600 ? -600
                   : codes[i] <= -500 ? -500
                   : codes[i] <= -400 ? -400
                   : codes[i] <= -300 ? -300
                   : codes[i] <= -200 ? -200
                                      : -100;
        assert_int_equal(secchat_error_class(codes[i]), want);
    }
}

static void test_version(void **state)
{
    (void)state;
    assert_non_null(secchat_version_string());
    assert_string_equal(secchat_version_string(), SECCHAT_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_distinct),
        cmocka_unit_test(test_strerror_unknown),
        cmocka_unit_test(test_error_class),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
