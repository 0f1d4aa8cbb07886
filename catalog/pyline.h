/* catalog/pyline.h: Python lines ("3.12"): the one parser, ordering, the line of a
 * full version, and end-of-support status (DESIGN §2, §5). Pure: no SQL. */
#ifndef CATALOG_PYLINE_H
#define CATALOG_PYLINE_H

#define CAT_PYLINE_MAX 8        /* longest accepted line text, "999.999" fits */
#define CAT_PYLINE_PART_MAX 999 /* largest major or minor that orders (cat_pyline_rank) */
#define CAT_SUPPORT_YEARS 5
#define CAT_WARNING_DAYS 180

/* Parse "MAJOR.MINOR" (digits, one dot, both parts non-empty, at most
 * CAT_PYLINE_MAX characters). 0 with *major and *minor set (either may be NULL), or
 * -1 when s is not a line. */
int cat_pyline_parse(const char *s, int *major, int *minor);

/* 1 when s is a Python line ("3.12"). */
int cat_pyline_valid(const char *s);

/* A sort key ordering 3.9 before 3.10 (major * 1000 + minor), or -1 when s is not
 * a line or a part is over CAT_PYLINE_PART_MAX. */
int cat_pyline_rank(const char *s);

/* The line ("3.12") of a full version ("3.12.1"); NULL when malformed. Caller frees. */
char *cat_pyline_of(const char *python_version);

/* "supported" / "ending" / "ended" for a line ending on eos, as of as_of (days). */
const char *cat_support_status(int eos, int as_of);

#endif
