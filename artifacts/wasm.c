/* artifacts/wasm.c: a bounded, streaming reader of the WebAssembly binary format.
 *
 * Follows the core spec's binary format (modules, sections, LEB128, names) and the
 * tool-conventions DynamicLinking.md for `dylink.0`. A push parser: bytes arrive in
 * any chunking; a small state machine reads the header and each section header, and
 * buffers a section body only as far as needed (see section_need). Every read from
 * a buffered body goes through struct rd, which never reads past its end.
 */
#include "artifacts/wasm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

#define WASM_HEADER_LEN 8
#define WASM_LEB32_MAX 5 /* bytes in a u32/s33 LEB128 */
#define WASM_LEB64_MAX 10
#define WASM_N_IDS 14 /* section ids 0..13 */
/* The section buffer's first size; it doubles from here, so a section that declares
 * a large size but is cut short costs only what arrived. */
#define WASM_BUF_FIRST 4096
#define SEC_CUSTOM 0
#define SEC_IMPORT 2
#define SEC_FUNCTION 3
#define SEC_EXPORT 7
#define SEC_START 8
#define SEC_CODE 10
#define SEC_DATA 11
#define SEC_DATACOUNT 12
#define DYLINK_MEM_INFO 1
#define DYLINK_NEEDED 2
#define DYLINK_EXPORT_INFO 3
#define DYLINK_IMPORT_INFO 4
#define DYLINK_RUNTIME_PATH 5
#define KIND_TAG 4

static const char *const sec_names[WASM_N_IDS] = {
    "custom", "type",  "import", "function", "table", "memory",    "global",
    "export", "start", "elem",   "code",     "data",  "datacount", "tag",
};

/* Position of each known section in the order the spec requires (0: custom). */
static const int sec_rank[WASM_N_IDS] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};

/* Sections whose body starts with a vector count. */
static const int sec_has_count[WASM_N_IDS] = {0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1};

static const char *const kind_names[] = {"func", "table", "memory", "global", "tag"};

enum w_state { W_HEADER, W_SEC_ID, W_SEC_SIZE, W_SEC_BODY, W_FAILED };

struct art_wasm {
    enum w_state state;
    uint64_t off; /* bytes consumed */
    uint8_t header[WASM_HEADER_LEN];
    size_t header_len;
    int last_rank;
    /* The current section. */
    uint8_t id;
    uint32_t size_acc;
    unsigned size_len;
    uint64_t body_off;
    uint32_t body_size;
    uint32_t body_got;
    uint8_t *buf;
    size_t buf_len;
    size_t buf_cap;
    size_t need; /* bytes of the body to buffer before section_parse */
    int named;   /* custom section: name read, rest buffered for dylink */
    cJSON *sec;  /* this section's entry in sections */
    /* Facts. */
    cJSON *sections, *imports, *exports, *dylink;
    uint32_t n_sections; /* all of them; at most ART_WASM_SECTIONS_LIST_MAX listed */
    int sec_detached;    /* w->sec is not in sections (over the cap): ours to free */
    size_t listed;       /* name bytes put into the facts' lists */
    uint32_t n_functions, n_code, n_data, n_datacount;
    int have_datacount;
    char fail[APP_ERR_MSG_MAX];
};

/* A bounded reader over a buffered section body; base is its module offset. */
struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    uint64_t base;
    struct art_wasm *w;
};

__attribute__((format(printf, 3, 4))) static int
wfail(struct art_wasm *w, uint64_t at, const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX - 64]; /* room for the prefix and offset */
    va_list ap;

    if (w->state == W_FAILED)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(w->fail, sizeof(w->fail), "malformed wasm module: %s at byte %llu", msg,
             (unsigned long long)at);
    w->state = W_FAILED;
    return -1;
}

static uint64_t
rd_at(const struct rd *r)
{
    return r->base + r->pos;
}

static int
rd_byte(struct rd *r, uint8_t *out, const char *what)
{
    *out = 0;
    if (r->pos >= r->len)
        return wfail(r->w, rd_at(r), "%s runs past the end of its section", what);
    *out = r->p[r->pos++];
    return 0;
}

/* Unsigned LEB128 of at most `bits` bits: no more than ceil(bits/7) bytes, and the
 * unused high bits of the last byte zero (the spec's rule for overlong encodings). */
static int
rd_uleb(struct rd *r, unsigned bits, uint64_t *out, const char *what)
{
    unsigned max = (bits + 6) / 7;
    uint64_t v = 0;
    uint64_t start = rd_at(r);

    *out = 0;
    for (unsigned i = 0; i < max; i++) {
        uint8_t b;

        if (r->pos >= r->len)
            return wfail(r->w, start, "%s runs past the end of its section", what);
        b = r->p[r->pos++];
        if (i == max - 1) {
            unsigned used = bits - 7 * i;

            if (b & 0x80)
                return wfail(r->w, start, "%s is longer than %u bytes", what, max);
            if (used < 7 && (b >> used) != 0)
                return wfail(r->w, start, "%s is larger than %u bits", what, bits);
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *out = v;
    return 0;
}

static int
rd_u32(struct rd *r, uint32_t *out, const char *what)
{
    uint64_t v;

    if (rd_uleb(r, 32, &v, what) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Signed LEB128 of 33 bits (heap types): at most 5 bytes, and the unused bits of the
 * last byte must repeat the sign bit. Only validated, the value is not needed. */
static int
rd_s33(struct rd *r, const char *what)
{
    uint64_t start = rd_at(r);

    for (unsigned i = 0; i < WASM_LEB32_MAX; i++) {
        uint8_t b;

        if (r->pos >= r->len)
            return wfail(r->w, start, "%s runs past the end of its section", what);
        b = r->p[r->pos++];
        if (i == WASM_LEB32_MAX - 1) {
            uint8_t rest = b & 0x70; /* bits 33..35 of the value, plus sign */

            if (b & 0x80)
                return wfail(r->w, start, "%s is longer than 5 bytes", what);
            if (rest != 0 && rest != 0x70)
                return wfail(r->w, start, "%s is larger than 33 bits", what);
            if (((b >> 4) & 1) != ((b >> 3) & 1))
                return wfail(r->w, start, "%s is larger than 33 bits", what);
        }
        if (!(b & 0x80))
            break;
    }
    return 0;
}

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int
utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* A name: u32 length, then that many bytes of UTF-8; points into the buffer. */
static int
rd_name(struct rd *r, const char **s, size_t *n, const char *what)
{
    uint64_t start = rd_at(r);
    uint32_t len;

    if (rd_u32(r, &len, what) < 0)
        return -1;
    if (len > ART_WASM_NAME_MAX)
        return wfail(r->w, start, "%s is %u bytes long, more than %u", what, len,
                     ART_WASM_NAME_MAX);
    if (len > r->len - r->pos)
        return wfail(r->w, start, "%s runs past the end of its section", what);
    if (!utf8_valid(r->p + r->pos, len))
        return wfail(r->w, start, "%s is not valid UTF-8", what);
    *s = (const char *)(r->p + r->pos);
    *n = len;
    r->pos += len;
    return 0;
}

static void
add_name(cJSON *obj, const char *key, const char *s, size_t n)
{
    char *t = xstrndup(s, n);

    /* A name with an embedded NUL is valid UTF-8; cJSON would cut it short, so
     * it is listed up to the NUL (counts and validation are unaffected). */
    xjson(cJSON_AddStringToObject(obj, key, t));
    free(t);
}

/* A value type (or reference type when ref_only); returns its short name. */
static int
rd_valtype(struct rd *r, int ref_only, const char **name, const char *what)
{
    uint64_t at = rd_at(r);
    uint8_t b = 0;

    if (rd_byte(r, &b, what) < 0)
        return -1;
    switch (b) {
    case 0x7f: *name = "i32"; break;
    case 0x7e: *name = "i64"; break;
    case 0x7d: *name = "f32"; break;
    case 0x7c: *name = "f64"; break;
    case 0x7b: *name = "v128"; break;
    case 0x70: *name = "funcref"; return 0;
    case 0x6f: *name = "externref"; return 0;
    case 0x63: /* (ref null ht) */
    case 0x64: /* (ref ht) */ *name = "ref"; return rd_s33(r, what);
    default:
        if (b >= 0x69 && b <= 0x74) { /* exn, array, struct, i31, eq, any, none... */
            *name = "ref";
            return 0;
        }
        return wfail(r->w, at, "%s has unknown type 0x%02x", what, b);
    }
    if (ref_only)
        return wfail(r->w, at, "%s has %s where a reference type is required", what, *name);
    return 0;
}

/* Limits of a table or memory: flags (bit 0 max, bit 1 shared, bit 2 64-bit, bit 3
 * custom page size), min, optional max. */
static int
rd_limits(struct rd *r, cJSON *item, const char *what)
{
    uint64_t at = rd_at(r), min, max = 0;
    unsigned bits;
    uint8_t flags = 0;

    if (rd_byte(r, &flags, what) < 0)
        return -1;
    if (flags > 0x0f)
        return wfail(r->w, at, "%s has unknown limits flags 0x%02x", what, flags);
    bits = (flags & 4) ? 64 : 32;
    if (rd_uleb(r, bits, &min, what) < 0)
        return -1;
    if ((flags & 1) && rd_uleb(r, bits, &max, what) < 0)
        return -1;
    if ((flags & 1) && max < min)
        return wfail(r->w, at, "%s has maximum %llu below its minimum %llu", what,
                     (unsigned long long)max, (unsigned long long)min);
    if (flags & 8) {
        uint32_t log2;

        if (rd_u32(r, &log2, what) < 0)
            return -1;
        if (log2 > 16)
            return wfail(r->w, at, "%s has page size 2^%u", what, log2);
        if (item)
            xjson(cJSON_AddNumberToObject(item, "page_size_log2", log2));
    }
    if (!item)
        return 0;
    xjson(cJSON_AddNumberToObject(item, "min", (double)min));
    if (flags & 1)
        xjson(cJSON_AddNumberToObject(item, "max", (double)max));
    if (flags & 2)
        xjson(cJSON_AddBoolToObject(item, "shared", 1));
    if (flags & 4)
        xjson(cJSON_AddBoolToObject(item, "memory64", 1));
    return 0;
}

static cJSON *
new_list(uint32_t count)
{
    cJSON *o = xjson(cJSON_CreateObject());

    xjson(cJSON_AddNumberToObject(o, "count", count));
    for (size_t k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
        xjson(cJSON_AddNumberToObject(o, kind_names[k], 0));
    xjson(cJSON_AddArrayToObject(o, "items"));
    return o;
}

static void
list_count_kind(cJSON *list, uint8_t kind)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(list, kind_names[kind]);

    cJSON_SetNumberValue(c, c->valuedouble + 1);
}

/* Add item to the list's items, or drop it once the list is full or the facts
 * hold ART_WASM_LISTED_BYTES_MAX bytes of names. */
static void
list_add(struct art_wasm *w, cJSON *list, cJSON *item, uint32_t i)
{
    if (i < ART_WASM_LIST_MAX && w->listed < ART_WASM_LISTED_BYTES_MAX) {
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(list, "items"), item);
        return;
    }
    cJSON_Delete(item);
    if (!cJSON_GetObjectItemCaseSensitive(list, "truncated"))
        xjson(cJSON_AddBoolToObject(list, "truncated", 1));
}

static int
rd_end(struct rd *r, const char *what)
{
    if (r->pos != r->len)
        return wfail(r->w, rd_at(r), "%s has %zu bytes left over", what, r->len - r->pos);
    return 0;
}

static int
parse_imports(struct art_wasm *w, struct rd *r)
{
    uint32_t count;

    if (rd_u32(r, &count, "import count") < 0)
        return -1;
    w->imports = new_list(count);
    for (uint32_t i = 0; i < count; i++) {
        cJSON *item = i < ART_WASM_LIST_MAX ? xjson(cJSON_CreateObject()) : NULL;
        const char *mod, *name, *type;
        size_t mod_len, name_len;
        uint64_t at = rd_at(r);
        uint8_t kind = 0;
        uint32_t idx = 0;
        int ok = -1;

        if (rd_name(r, &mod, &mod_len, "import module name") < 0 ||
            rd_name(r, &name, &name_len, "import name") < 0 || rd_byte(r, &kind, "import kind") < 0)
            goto next;
        if (kind > KIND_TAG) {
            wfail(w, at, "import %u has unknown kind 0x%02x", i, kind);
            goto next;
        }
        if (item) {
            add_name(item, "module", mod, mod_len);
            add_name(item, "name", name, name_len);
            w->listed += mod_len + name_len;
            xjson(cJSON_AddStringToObject(item, "kind", kind_names[kind]));
        }
        switch (kind) {
        case 0: /* func: type index */
            if (rd_u32(r, &idx, "import type index") < 0)
                goto next;
            if (item)
                xjson(cJSON_AddNumberToObject(item, "type", idx));
            break;
        case 1: /* table */
            if (rd_valtype(r, 1, &type, "imported table") < 0 ||
                rd_limits(r, item, "imported table") < 0)
                goto next;
            if (item)
                xjson(cJSON_AddStringToObject(item, "type", type));
            break;
        case 2: /* memory */
            if (rd_limits(r, item, "imported memory") < 0)
                goto next;
            break;
        case 3: { /* global: type, mutability */
            uint8_t mut;

            if (rd_valtype(r, 0, &type, "imported global") < 0 ||
                rd_byte(r, &mut, "imported global") < 0)
                goto next;
            if (mut > 1) {
                wfail(w, rd_at(r) - 1, "imported global has mutability 0x%02x", mut);
                goto next;
            }
            if (item) {
                xjson(cJSON_AddStringToObject(item, "type", type));
                xjson(cJSON_AddBoolToObject(item, "mutable", mut));
            }
            break;
        }
        case KIND_TAG: {
            uint8_t attr;

            if (rd_byte(r, &attr, "imported tag") < 0)
                goto next;
            if (attr != 0) {
                wfail(w, rd_at(r) - 1, "imported tag has attribute 0x%02x", attr);
                goto next;
            }
            if (rd_u32(r, &idx, "imported tag type") < 0)
                goto next;
            break;
        }
        }
        list_count_kind(w->imports, kind);
        ok = 0;
    next:
        if (ok < 0) {
            cJSON_Delete(item);
            return -1;
        }
        list_add(w, w->imports, item, i);
    }
    return rd_end(r, "import section");
}

struct name_ref {
    const char *s;
    size_t n;
};

static int
name_cmp(const void *a, const void *b)
{
    const struct name_ref *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

static int
parse_exports(struct art_wasm *w, struct rd *r)
{
    struct name_ref *names = NULL;
    uint64_t start = rd_at(r);
    uint32_t count;
    int ret = -1;

    if (rd_u32(r, &count, "export count") < 0)
        return -1;
    w->exports = new_list(count);
    /* Each export takes at least 3 bytes, so this bounds the allocation. */
    if (count > (r->len - r->pos) / 3)
        return wfail(w, start, "export count %u does not fit in the section", count);
    names = xcalloc(count ? count : 1, sizeof(*names));
    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = rd_at(r);
        uint8_t kind = 0;
        uint32_t idx = 0;
        cJSON *item;

        if (rd_name(r, &names[i].s, &names[i].n, "export name") < 0 ||
            rd_byte(r, &kind, "export kind") < 0)
            goto out;
        if (kind > KIND_TAG) {
            wfail(w, at, "export %u has unknown kind 0x%02x", i, kind);
            goto out;
        }
        if (rd_u32(r, &idx, "export index") < 0)
            goto out;
        list_count_kind(w->exports, kind);
        if (i > ART_WASM_LIST_MAX)
            continue;
        item = xjson(cJSON_CreateObject());
        add_name(item, "name", names[i].s, names[i].n);
        w->listed += names[i].n;
        xjson(cJSON_AddStringToObject(item, "kind", kind_names[kind]));
        xjson(cJSON_AddNumberToObject(item, "index", idx));
        list_add(w, w->exports, item, i);
    }
    if (rd_end(r, "export section") < 0)
        goto out;
    /* Export names must be unique. */
    qsort(names, count, sizeof(*names), name_cmp);
    for (uint32_t i = 1; i < count; i++) {
        if (name_cmp(&names[i - 1], &names[i]) == 0) {
            char *dup = xstrndup(names[i].s, names[i].n);

            wfail(w, start, "export name \"%.100s\" appears twice", dup);
            free(dup);
            goto out;
        }
    }
    ret = 0;
out:
    free(names);
    return ret;
}

/* A vector of names into a JSON array (needed libraries, runtime paths). */
static int
rd_name_list(struct rd *r, cJSON *arr, const char *what)
{
    uint32_t count;

    if (rd_u32(r, &count, what) < 0)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *s;
        size_t n;
        char *t;

        if (rd_name(r, &s, &n, what) < 0)
            return -1;
        if (i >= ART_WASM_LIST_MAX || r->w->listed >= ART_WASM_LISTED_BYTES_MAX)
            continue;
        r->w->listed += n;
        t = xstrndup(s, n);
        cJSON_AddItemToArray(arr, xjson(cJSON_CreateString(t)));
        free(t);
    }
    return 0;
}

static void
dylink_mem(cJSON *d, const uint32_t v[4])
{
    xjson(cJSON_AddNumberToObject(d, "mem_size", v[0]));
    xjson(cJSON_AddNumberToObject(d, "mem_p2align", v[1]));
    xjson(cJSON_AddNumberToObject(d, "table_size", v[2]));
    xjson(cJSON_AddNumberToObject(d, "table_p2align", v[3]));
}

static int
rd_mem_info(struct rd *r, uint32_t v[4])
{
    return rd_u32(r, &v[0], "dylink memory size") < 0 ||
                   rd_u32(r, &v[1], "dylink memory alignment") < 0 ||
                   rd_u32(r, &v[2], "dylink table size") < 0 ||
                   rd_u32(r, &v[3], "dylink table alignment") < 0
               ? -1
               : 0;
}

/* The legacy `dylink` section: mem info then the needed libraries, no subsections. */
static int
parse_dylink_legacy(struct art_wasm *w, struct rd *r)
{
    uint32_t v[4];

    if (rd_mem_info(r, v) < 0)
        return -1;
    dylink_mem(w->dylink, v);
    if (rd_name_list(r, cJSON_GetObjectItemCaseSensitive(w->dylink, "needed"),
                     "dylink needed library") < 0)
        return -1;
    return rd_end(r, "dylink section");
}

/* `dylink.0`: subsections {type, size, payload}; unknown types are skipped. */
static int
parse_dylink0(struct art_wasm *w, struct rd *r)
{
    int have_mem = 0;

    while (r->pos < r->len) {
        uint64_t at = rd_at(r);
        struct rd sub;
        uint32_t size, count, v[4];
        uint8_t type;

        if (rd_byte(r, &type, "dylink subsection type") < 0 ||
            rd_u32(r, &size, "dylink subsection size") < 0)
            return -1;
        if (size > r->len - r->pos)
            return wfail(w, at, "dylink subsection %u runs past the end of its section", type);
        sub = (struct rd){r->p + r->pos, size, 0, rd_at(r), w};
        r->pos += size;
        switch (type) {
        case DYLINK_MEM_INFO:
            if (have_mem++)
                return wfail(w, at, "dylink memory info appears twice");
            if (rd_mem_info(&sub, v) < 0 || rd_end(&sub, "dylink memory info") < 0)
                return -1;
            dylink_mem(w->dylink, v);
            break;
        case DYLINK_NEEDED:
            if (rd_name_list(&sub, cJSON_GetObjectItemCaseSensitive(w->dylink, "needed"),
                             "dylink needed library") < 0 ||
                rd_end(&sub, "dylink needed list") < 0)
                return -1;
            break;
        case DYLINK_EXPORT_INFO:
        case DYLINK_IMPORT_INFO:
            if (rd_u32(&sub, &count, "dylink symbol info count") < 0)
                return -1;
            for (uint32_t i = 0; i < count; i++) {
                const char *s;
                size_t n;
                uint32_t flags;

                if ((type == DYLINK_IMPORT_INFO &&
                     rd_name(&sub, &s, &n, "dylink import module") < 0) ||
                    rd_name(&sub, &s, &n, "dylink symbol name") < 0 ||
                    rd_u32(&sub, &flags, "dylink symbol flags") < 0)
                    return -1;
            }
            if (rd_end(&sub, "dylink symbol info") < 0)
                return -1;
            xjson(cJSON_AddNumberToObject(
                w->dylink, type == DYLINK_EXPORT_INFO ? "export_info" : "import_info", count));
            break;
        case DYLINK_RUNTIME_PATH: {
            cJSON *paths = xjson(cJSON_AddArrayToObject(w->dylink, "runtime_paths"));

            if (rd_name_list(&sub, paths, "dylink runtime path") < 0 ||
                rd_end(&sub, "dylink runtime paths") < 0)
                return -1;
            break;
        }
        default: break;
        }
    }
    if (!have_mem)
        return wfail(w, r->base, "dylink.0 section has no memory info");
    return 0;
}

/* How much of a section's body to buffer before looking at it. */
static size_t
section_need(const struct art_wasm *w)
{
    size_t size = w->body_size;

    switch (w->id) {
    case SEC_CUSTOM: /* the name first; more only for dylink */
        return size < WASM_LEB32_MAX + ART_WASM_NAME_MAX ? size
                                                         : WASM_LEB32_MAX + ART_WASM_NAME_MAX;
    case SEC_IMPORT:
    case SEC_EXPORT: return size;
    default: /* a count or an index */ return size < WASM_LEB32_MAX ? size : WASM_LEB32_MAX;
    }
}

static int
parse_custom(struct art_wasm *w, struct rd *r)
{
    const char *name;
    size_t n;
    int legacy;

    if (!w->named) {
        /* The prefix holds any name of up to ART_WASM_NAME_MAX bytes. */
        if (rd_name(r, &name, &n, "custom section name") < 0)
            return -1;
        add_name(w->sec, "name", name, n);
        legacy = n == 6 && memcmp(name, "dylink", 6) == 0;
        if (!legacy && !(n == 8 && memcmp(name, "dylink.0", 8) == 0))
            return 0; /* other custom sections are not interpreted */
        if (w->dylink)
            return wfail(w, w->body_off, "second dylink section");
        if (w->body_size > ART_WASM_SECTION_MAX)
            return wfail(w, w->body_off, "dylink section of %u bytes is over the limit",
                         w->body_size);
        w->dylink = xjson(cJSON_CreateObject());
        xjson(cJSON_AddStringToObject(w->dylink, "section", legacy ? "dylink" : "dylink.0"));
        xjson(cJSON_AddArrayToObject(w->dylink, "needed"));
        w->named = 1;
        if (w->buf_len < w->body_size) {
            w->need = w->body_size;
            return 0;
        }
    } else {
        /* Re-read the name to reach the payload. */
        if (rd_name(r, &name, &n, "custom section name") < 0)
            return -1;
    }
    if (strcmp(cJSON_GetObjectItemCaseSensitive(w->dylink, "section")->valuestring, "dylink") == 0)
        return parse_dylink_legacy(w, r);
    return parse_dylink0(w, r);
}

/* Called when need bytes of the body are buffered (the whole body, or a prefix). */
static int
section_parse(struct art_wasm *w)
{
    struct rd r = {w->buf, w->buf_len, 0, w->body_off, w};
    uint32_t v;

    switch (w->id) {
    case SEC_CUSTOM: return parse_custom(w, &r);
    case SEC_IMPORT:
        if (parse_imports(w, &r) < 0)
            return -1;
        xjson(cJSON_AddNumberToObject(
            w->sec, "count", cJSON_GetObjectItemCaseSensitive(w->imports, "count")->valuedouble));
        return 0;
    case SEC_EXPORT:
        if (parse_exports(w, &r) < 0)
            return -1;
        xjson(cJSON_AddNumberToObject(
            w->sec, "count", cJSON_GetObjectItemCaseSensitive(w->exports, "count")->valuedouble));
        return 0;
    case SEC_START:
    case SEC_DATACOUNT:
        if (w->body_size > WASM_LEB32_MAX)
            return wfail(w, w->body_off, "%s section is %u bytes, more than one index",
                         sec_names[w->id], w->body_size);
        if (rd_u32(&r, &v, w->id == SEC_START ? "start function" : "data count") < 0 ||
            rd_end(&r, w->id == SEC_START ? "start section" : "datacount section") < 0)
            return -1;
        if (w->id == SEC_DATACOUNT) {
            w->have_datacount = 1;
            w->n_datacount = v;
        }
        xjson(cJSON_AddNumberToObject(w->sec, w->id == SEC_START ? "start" : "count", v));
        return 0;
    default:
        if (rd_u32(&r, &v, "section count") < 0)
            return -1;
        if (w->id == SEC_FUNCTION)
            w->n_functions = v;
        else if (w->id == SEC_CODE)
            w->n_code = v;
        else if (w->id == SEC_DATA)
            w->n_data = v;
        if (sec_has_count[w->id])
            xjson(cJSON_AddNumberToObject(w->sec, "count", v));
        return 0;
    }
}

static int
section_begin(struct art_wasm *w)
{
    w->body_off = w->off;
    w->body_got = 0;
    w->buf_len = 0;
    w->named = 0;
    w->need = section_need(w);
    if (w->sec_detached)
        cJSON_Delete(w->sec);
    w->sec = xjson(cJSON_CreateObject());
    w->sec_detached = w->n_sections++ >= ART_WASM_SECTIONS_LIST_MAX;
    xjson(cJSON_AddNumberToObject(w->sec, "id", w->id));
    if (w->id != SEC_CUSTOM)
        xjson(cJSON_AddStringToObject(w->sec, "name", sec_names[w->id]));
    xjson(cJSON_AddNumberToObject(w->sec, "offset", (double)w->body_off));
    xjson(cJSON_AddNumberToObject(w->sec, "size", w->body_size));
    if (!w->sec_detached)
        cJSON_AddItemToArray(w->sections, w->sec);
    w->state = W_SEC_BODY;
    if ((w->id == SEC_IMPORT || w->id == SEC_EXPORT) && w->body_size > ART_WASM_SECTION_MAX)
        return wfail(w, w->body_off, "%s section of %u bytes is over the limit of %u",
                     sec_names[w->id], w->body_size, ART_WASM_SECTION_MAX);
    if (w->need == 0 && section_parse(w) < 0)
        return -1;
    if (w->body_size == 0)
        w->state = W_SEC_ID;
    return 0;
}

/* Grow the section buffer geometrically, so a section that declares a large size
 * but is cut short costs only what arrived. */
static void
buf_reserve(struct art_wasm *w, size_t n)
{
    size_t cap = w->buf_cap ? w->buf_cap : WASM_BUF_FIRST;

    if (n <= w->buf_cap)
        return;
    while (cap < n)
        cap *= 2;
    w->buf = xrealloc(w->buf, cap);
    w->buf_cap = cap;
}

/* Consume body bytes; returns how many were used, or -1. */
static long long
section_feed(struct art_wasm *w, const uint8_t *p, size_t n)
{
    size_t used = 0;

    while (used < n && w->body_got < w->body_size) {
        size_t take;

        if (w->buf_len < w->need) {
            take = w->need - w->buf_len;
            if (take > n - used)
                take = n - used;
            buf_reserve(w, w->buf_len + take);
            memcpy(w->buf + w->buf_len, p + used, take);
            w->buf_len += take;
        } else {
            take = w->body_size - w->body_got;
            if (take > n - used)
                take = n - used;
        }
        used += take;
        w->body_got += (uint32_t)take;
        w->off += take;
        /* Just finished buffering: look (a dylink section may raise need). */
        if (w->buf_len == w->need && w->body_got == w->buf_len && section_parse(w) < 0)
            return -1;
    }
    if (w->body_got == w->body_size)
        w->state = W_SEC_ID;
    return (long long)used;
}

static int
header_check(struct art_wasm *w)
{
    static const uint8_t magic[4] = {0, 'a', 's', 'm'};
    uint32_t version = (uint32_t)w->header[4] | (uint32_t)w->header[5] << 8 |
                       (uint32_t)w->header[6] << 16 | (uint32_t)w->header[7] << 24;

    if (memcmp(w->header, magic, sizeof(magic)) != 0)
        return wfail(w, 0, "bad magic (not a wasm module)");
    if (version == 0x0001000d)
        return wfail(w, 4, "a component, not a core module");
    if (version != 1)
        return wfail(w, 4, "unsupported version %u", version);
    return 0;
}

int
art_wasm_is_module(const void *p, size_t n)
{
    return n >= 4 && memcmp(p, "\0asm", 4) == 0;
}

struct art_wasm *
art_wasm_new(void)
{
    struct art_wasm *w = xcalloc(1, sizeof(*w));

    w->sections = xjson(cJSON_CreateArray());
    return w;
}

void
art_wasm_free(struct art_wasm *w)
{
    if (!w)
        return;
    free(w->buf);
    if (w->sec_detached)
        cJSON_Delete(w->sec);
    cJSON_Delete(w->sections);
    cJSON_Delete(w->imports);
    cJSON_Delete(w->exports);
    cJSON_Delete(w->dylink);
    free(w);
}

static int
fail_out(struct art_wasm *w, struct app_err *err)
{
    return app_fail(err, APP_EUNPROCESSABLE, "%s", w->fail);
}

int
art_wasm_feed(struct art_wasm *w, const void *data, size_t n, struct app_err *err)
{
    const uint8_t *p = data;

    while (n > 0 && w->state != W_FAILED) {
        switch (w->state) {
        case W_HEADER: {
            size_t take = WASM_HEADER_LEN - w->header_len;

            if (take > n)
                take = n;
            memcpy(w->header + w->header_len, p, take);
            w->header_len += take;
            w->off += take;
            p += take;
            n -= take;
            if (w->header_len == WASM_HEADER_LEN && header_check(w) == 0)
                w->state = W_SEC_ID;
            break;
        }
        case W_SEC_ID: {
            uint8_t id = *p++;
            int rank;

            n--;
            if (id >= WASM_N_IDS) {
                wfail(w, w->off, "unknown section id %u", id);
                break;
            }
            rank = sec_rank[id];
            if (rank != 0 && rank <= w->last_rank) {
                if (rank == w->last_rank)
                    wfail(w, w->off, "second %s section", sec_names[id]);
                else
                    wfail(w, w->off, "%s section out of order", sec_names[id]);
                break;
            }
            if (rank != 0)
                w->last_rank = rank;
            w->id = id;
            w->size_acc = 0;
            w->size_len = 0;
            w->off++;
            w->state = W_SEC_SIZE;
            break;
        }
        case W_SEC_SIZE: {
            uint8_t b = *p++;

            n--;
            if (w->size_len == WASM_LEB32_MAX - 1 && (b & 0xf0)) {
                wfail(w, w->off - w->size_len, "%s section size is not a valid u32",
                      sec_names[w->id]);
                break;
            }
            w->size_acc |= (uint32_t)(b & 0x7f) << (7 * w->size_len);
            w->size_len++;
            w->off++;
            if (!(b & 0x80)) {
                w->body_size = w->size_acc;
                section_begin(w);
            }
            break;
        }
        case W_SEC_BODY: {
            long long used = section_feed(w, p, n);

            if (used < 0)
                break;
            p += used;
            n -= (size_t)used;
            break;
        }
        case W_FAILED: break;
        }
    }
    return w->state == W_FAILED ? fail_out(w, err) : 0;
}

int
art_wasm_finish(struct art_wasm *w, cJSON **facts, struct app_err *err)
{
    cJSON *f;

    *facts = NULL;
    if (w->state == W_FAILED)
        return fail_out(w, err);
    if (w->state == W_HEADER) {
        wfail(w, w->off, "%s", w->off == 0 ? "empty input" : "truncated header");
        return fail_out(w, err);
    }
    if (w->state == W_SEC_SIZE) {
        wfail(w, w->off, "module ends inside a section header");
        return fail_out(w, err);
    }
    if (w->state == W_SEC_BODY) {
        wfail(w, w->off, "%s section declares %u bytes but the module ends after %u",
              sec_names[w->id], w->body_size, w->body_got);
        return fail_out(w, err);
    }
    if (w->n_functions != w->n_code) {
        wfail(w, w->off, "function section declares %u functions but code section has %u",
              w->n_functions, w->n_code);
        return fail_out(w, err);
    }
    if (w->have_datacount && w->n_datacount != w->n_data) {
        wfail(w, w->off, "data count section says %u segments but data section has %u",
              w->n_datacount, w->n_data);
        return fail_out(w, err);
    }
    f = xjson(cJSON_CreateObject());
    xjson(cJSON_AddNumberToObject(f, "version", 1));
    xjson(cJSON_AddNumberToObject(f, "size", (double)w->off));
    cJSON_AddItemToObject(f, "sections", w->sections);
    w->sections = NULL;
    xjson(cJSON_AddNumberToObject(f, "sections_count", w->n_sections));
    xjson(
        cJSON_AddBoolToObject(f, "sections_truncated", w->n_sections > ART_WASM_SECTIONS_LIST_MAX));
    {
        cJSON *lim = xjson(cJSON_AddObjectToObject(f, "limits"));

        xjson(cJSON_AddNumberToObject(lim, "sections", ART_WASM_SECTIONS_LIST_MAX));
        xjson(cJSON_AddNumberToObject(lim, "items", ART_WASM_LIST_MAX));
        xjson(cJSON_AddNumberToObject(lim, "listed_name_bytes", ART_WASM_LISTED_BYTES_MAX));
    }
    cJSON_AddItemToObject(f, "imports", w->imports ? w->imports : new_list(0));
    cJSON_AddItemToObject(f, "exports", w->exports ? w->exports : new_list(0));
    w->imports = w->exports = NULL;
    xjson(cJSON_AddNumberToObject(f, "functions", w->n_functions));
    if (w->dylink)
        cJSON_AddItemToObject(f, "dylink", w->dylink);
    else
        xjson(cJSON_AddNullToObject(f, "dylink"));
    w->dylink = NULL;
    *facts = f;
    return 0;
}

int
art_wasm_parse(const void *p, size_t n, cJSON **facts, struct app_err *err)
{
    struct art_wasm *w = art_wasm_new();
    int ret = -1;

    *facts = NULL;
    if (art_wasm_feed(w, p, n, err) == 0 && art_wasm_finish(w, facts, err) == 0)
        ret = 0;
    art_wasm_free(w);
    return ret;
}
