/* tests/lib/unit.c: see unit.h. */
#include "tests/lib/unit.h"

#include <stdlib.h>

int
unit_failed(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

int
unit_run(Suite *s)
{
    return unit_failed(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
