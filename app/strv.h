/* app/strv.h: string vectors: a heap array of n heap strings, followed by a NULL
 * (so it can be passed where a NULL-terminated list is expected). One free function
 * for all of them. */
#ifndef APP_STRV_H
#define APP_STRV_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Split s at sep into trimmed (spaces, tabs) non-empty items; *n receives the
 * count. Never NULL (an empty vector for NULL or empty s). Free with strv_free. */
char **strv_split(const char *s, char sep, size_t *n);

/* Append a copy of s to *v (of *n items), keeping the NULL terminator. */
void strv_push(char ***v, size_t *n, const char *s);

/* Sort the n items of v bytewise. */
void strv_sort(char **v, size_t n);

/* Free the n items of v and v itself; NULL does nothing. */
void strv_free(char **v, size_t n);

/* The strings of a JSON array of strings, borrowed from arr (valid while arr is),
 * as a NULL-terminated array the caller frees with free(). NULL arr gives an empty
 * array. Items that are not strings are skipped. */
const char **strv_borrow_json(const cJSON *arr, size_t *n);

/* The n strings as canonical JSON array text; the caller frees. */
char *strv_to_json(const char *const *v, size_t n);

#endif
