/* app/strv.c: string vectors (see app/strv.h). */
#include "app/strv.h"

#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "app/mem.h"

char **
strv_split(const char *s, char sep, size_t *n)
{
    char **v = xcalloc(1, sizeof(*v));
    const char *p = s;

    *n = 0;
    while (p && *p) {
        const char *cut = strchr(p, sep);
        size_t len = cut ? (size_t)(cut - p) : strlen(p);
        const char *q = p;

        while (len && (*q == ' ' || *q == '\t'))
            q++, len--;
        while (len && (q[len - 1] == ' ' || q[len - 1] == '\t'))
            len--;
        if (len) {
            char *item = xstrndup(q, len);

            v = xrealloc(v, (*n + 2) * sizeof(*v));
            v[(*n)++] = item;
            v[*n] = NULL;
        }
        p = cut ? cut + 1 : NULL;
    }
    return v;
}

void
strv_push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 2) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
    (*v)[*n] = NULL;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
strv_sort(char **v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_str);
}

void
strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

const char **
strv_borrow_json(const cJSON *arr, size_t *n)
{
    const cJSON *x;
    const char **v;
    size_t i = 0;

    *n = 0;
    v = xcalloc((arr ? (size_t)cJSON_GetArraySize(arr) : 0) + 1, sizeof(*v));
    if (arr)
        cJSON_ArrayForEach (x, arr)
            if (cJSON_IsString(x))
                v[i++] = x->valuestring;
    *n = i;
    return v;
}

char *
strv_to_json(const char *const *v, size_t n)
{
    cJSON *a = xjson(cJSON_CreateArray());
    char *s;

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, xjson(cJSON_CreateString(v[i])));
    s = json_canonical(a, NULL);
    cJSON_Delete(a);
    return s;
}
