/* tests/lib/unit.h: the one way a unit test (Check) runs its suite, so every
 * test binary reports and exits alike. Linked into tests/unit only (it needs
 * libcheck; the fuzzers and benches link tests/lib without it). */
#ifndef TESTS_LIB_UNIT_H
#define TESTS_LIB_UNIT_H

#include <check.h>

/* Run every test of s (freed with its runner): the number that failed. */
int unit_failed(Suite *s);

/* Run s and give main's return: EXIT_SUCCESS when every test passed. */
int unit_run(Suite *s);

#endif
