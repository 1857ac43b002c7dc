/*
 * Static analysis only: run_static.sh hands this header to clang-tidy with
 * -include for every cmocka suite in tests/ (never to a compiler build).
 *
 * cmocka 1.1 reports a failed assertion by longjmp from _assert_true() and
 * friends, but does not declare them noreturn, so the clang static analyzer
 * follows paths past a failed assert_non_null(p) and then reports the null
 * dereference or uninitialised value that the assertion ruled out.  Here the
 * assertion functions become expressions that call a _Noreturn function when
 * they fail, which is what they do at run time.
 */
#ifndef SC_CMOCKA_ANALYZER_H
#define SC_CMOCKA_ANALYZER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#ifdef __clang_analyzer__
/* The names are cmocka's (reserved identifiers, by design). */
/* NOLINTBEGIN */
_Noreturn void sc_analysis_assert_failed(void);
#define _assert_true(result, expression, file, line) ((result) ? (void)0 : sc_analysis_assert_failed())
#define _assert_int_equal(a, b, file, line) ((a) == (b) ? (void)0 : sc_analysis_assert_failed())
#define _assert_int_not_equal(a, b, file, line) ((a) != (b) ? (void)0 : sc_analysis_assert_failed())
#define _assert_in_range(value, minimum, maximum, file, line)                                                       \
    ((value) >= (minimum) && (value) <= (maximum) ? (void)0 : sc_analysis_assert_failed())
#define _assert_not_in_range(value, minimum, maximum, file, line)                                                   \
    ((value) < (minimum) || (value) > (maximum) ? (void)0 : sc_analysis_assert_failed())
#define _fail(file, line) sc_analysis_assert_failed()
#define _skip(file, line) sc_analysis_assert_failed()
/* NOLINTEND */
#endif

#endif
