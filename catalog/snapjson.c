/* catalog/snapjson.c: a catalog snapshot to its canonical document and back (pure).
 * The parser checks every field's type: a document that verifies may still come from
 * a newer server, and a client must refuse what it cannot represent, not guess. */
#include "catalog/snapjson.h"

#include <stdlib.h>
#include <string.h>

#include "app/date.h"
#include "app/hash.h"
#include "app/json.h"
#include "app/mem.h"

/* ---- writing */

static cJSON *
strings_json(char *const *v, size_t n)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, xjson(cJSON_CreateString(v[i])));
    return a;
}

static void
add_date(cJSON *o, const char *key, int days)
{
    char d[APP_DATE_LEN];

    date_format(days, d);
    xjson(cJSON_AddStringToObject(o, key, d));
}

static cJSON *
lines_json(const struct snap *s)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < s->n_lines; i++) {
        cJSON *o = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(o, "line", s->lines[i].line));
        add_date(o, "first_release", s->lines[i].first_release);
        add_date(o, "end_of_support", s->lines[i].end_of_support);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *
runtimes_json(const struct snap *s)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < s->n_runtimes; i++) {
        const struct snap_runtime *r = &s->runtimes[i];
        cJSON *o = xjson(cJSON_CreateObject()), *arts = xjson(cJSON_CreateArray());

        xjson(cJSON_AddStringToObject(o, "id", r->id));
        xjson(cJSON_AddStringToObject(o, "pyodide", r->pyodide));
        xjson(cJSON_AddStringToObject(o, "python", r->python));
        xjson(cJSON_AddStringToObject(o, "python_line", r->line));
        xjson(cJSON_AddStringToObject(o, "emscripten", r->emscripten));
        xjson(cJSON_AddStringToObject(o, "abi", r->abi));
        for (size_t j = 0; j < r->n_arts; j++) {
            cJSON *ao = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(ao, "role", r->arts[j].role));
            xjson(cJSON_AddStringToObject(ao, "file_name", r->arts[j].file_name));
            xjson(cJSON_AddStringToObject(ao, "sha256", r->arts[j].sha256));
            xjson(cJSON_AddNumberToObject(ao, "size", (double)r->arts[j].size));
            xjson(cJSON_AddBoolToObject(ao, "stored", r->arts[j].stored));
            cJSON_AddItemToArray(arts, ao);
        }
        cJSON_AddItemToObject(o, "artifacts", arts);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *
sets_json(const struct snap *s)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < s->n_sets; i++) {
        const struct snap_set *set = &s->sets[i];
        cJSON *o = xjson(cJSON_CreateObject()), *pkgs = xjson(cJSON_CreateArray());

        xjson(cJSON_AddStringToObject(o, "id", set->id));
        xjson(cJSON_AddStringToObject(o, "runtime", set->runtime));
        for (size_t j = 0; j < set->n_pkgs; j++) {
            const struct snap_pkg *p = &set->pkgs[j];
            cJSON *po = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(po, "name", p->name));
            xjson(cJSON_AddStringToObject(po, "version", p->version));
            xjson(cJSON_AddStringToObject(po, "file_name", p->file_name));
            xjson(cJSON_AddStringToObject(po, "sha256", p->sha256));
            if (p->size < 0)
                xjson(cJSON_AddNullToObject(po, "size"));
            else
                xjson(cJSON_AddNumberToObject(po, "size", (double)p->size));
            xjson(cJSON_AddBoolToObject(po, "stored", p->stored));
            xjson(cJSON_AddStringToObject(po, "package_type", p->package_type));
            xjson(cJSON_AddStringToObject(po, "install_dir", p->install_dir));
            cJSON_AddItemToObject(po, "depends", strings_json(p->depends, p->n_depends));
            cJSON_AddItemToObject(po, "imports", strings_json(p->imports, p->n_imports));
            cJSON_AddItemToArray(pkgs, po);
        }
        cJSON_AddItemToObject(o, "packages", pkgs);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *
flags_json(const struct snap *s)
{
    cJSON *a = xjson(cJSON_CreateArray());

    for (size_t i = 0; i < s->n_flags; i++) {
        const struct flag_def *f = &s->flags[i];
        cJSON *o = xjson(cJSON_CreateObject()), *imp = xjson(cJSON_CreateArray());

        xjson(cJSON_AddStringToObject(o, "name", f->name));
        json_add_str_or_null(o, "disable", f->disable);
        if (f->has_enable_date)
            add_date(o, "enable_date", f->enable_date);
        else
            xjson(cJSON_AddNullToObject(o, "enable_date"));
        xjson(cJSON_AddBoolToObject(o, "experimental", f->experimental));
        for (size_t j = 0; j < f->n_implied; j++) {
            cJSON *io = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(io, "flag", f->implied[j].flag));
            add_date(io, "after", f->implied[j].after);
            cJSON_AddItemToArray(imp, io);
        }
        cJSON_AddItemToObject(o, "implied_by", imp);
        if (f->bundle_order > 0) {
            cJSON *b = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(b, "runtime", f->bundle_runtime));
            xjson(cJSON_AddStringToObject(b, "package_set", f->bundle_package_set));
            xjson(cJSON_AddNumberToObject(b, "order", f->bundle_order));
            cJSON_AddItemToObject(o, "bundle", b);
        } else {
            xjson(cJSON_AddNullToObject(o, "bundle"));
        }
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *
snap_json(const struct snap *s, const struct snap_meta *m)
{
    cJSON *doc = xjson(cJSON_CreateObject());
    char t[APP_TIME_LEN];

    xjson(cJSON_AddNumberToObject(doc, "format", SNAPJSON_FORMAT));
    xjson(cJSON_AddNumberToObject(doc, "version", (double)m->version));
    date_time_rfc3339(m->issued_at, t);
    xjson(cJSON_AddStringToObject(doc, "issued_at", t));
    date_time_rfc3339(m->expires, t);
    xjson(cJSON_AddStringToObject(doc, "expires", t));
    json_add_str_or_null(doc, "previous", m->previous[0] ? m->previous : NULL);
    cJSON_AddItemToObject(doc, "python_lines", lines_json(s));
    cJSON_AddItemToObject(doc, "runtimes", runtimes_json(s));
    cJSON_AddItemToObject(doc, "package_sets", sets_json(s));
    cJSON_AddItemToObject(doc, "flags", flags_json(s));
    return doc;
}

/* ---- reading: every helper fails with APP_EINVAL naming the field */

static int
bad(struct app_err *err, const char *what, const char *key)
{
    return app_fail(err, APP_EINVAL, "catalog snapshot: %s has no valid '%s'", what, key);
}

static int
get_str(const cJSON *o, const char *key, const char *what, int nullable, char **out,
        struct app_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    *out = NULL;
    if (nullable && cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad(err, what, key);
    *out = xstrdup(v->valuestring);
    return 0;
}

static int
get_date(const cJSON *o, const char *key, const char *what, int *days, struct app_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsString(v) || date_parse(v->valuestring, days) < 0)
        return bad(err, what, key);
    return 0;
}

static int
get_int(const cJSON *o, const char *key, const char *what, long long min, long long *out,
        struct app_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    /* Integers only, within what a double holds exactly. */
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < (double)min || v->valuedouble > 9007199254740991.0)
        return bad(err, what, key);
    *out = (long long)v->valuedouble;
    return 0;
}

static int
get_bool(const cJSON *o, const char *key, const char *what, int *out, struct app_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsBool(v))
        return bad(err, what, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static const cJSON *
get_array(const cJSON *o, const char *key, const char *what, size_t *n, struct app_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsArray(v)) {
        bad(err, what, key);
        return NULL;
    }
    *n = (size_t)cJSON_GetArraySize(v);
    return v;
}

static int
get_strings(const cJSON *o, const char *key, const char *what, char ***out, size_t *n,
            struct app_err *err)
{
    const cJSON *a = get_array(o, key, what, n, err), *e;
    size_t i = 0;

    *out = NULL;
    if (!a)
        return -1;
    *out = xcalloc(*n ? *n : 1, sizeof(**out));
    cJSON_ArrayForEach (e, a) {
        if (!cJSON_IsString(e)) {
            *n = i; /* the caller frees what was copied */
            return bad(err, what, key);
        }
        (*out)[i++] = xstrdup(e->valuestring);
    }
    return 0;
}

static int
parse_lines(const cJSON *doc, struct snap *s, struct app_err *err)
{
    size_t n;
    const cJSON *a = get_array(doc, "python_lines", "document", &n, err), *e;

    if (!a)
        return -1;
    s->lines = xcalloc(n ? n : 1, sizeof(*s->lines));
    cJSON_ArrayForEach (e, a) {
        struct snap_line *l = &s->lines[s->n_lines++];
        char *dot, *end;

        if (get_str(e, "line", "python line", 0, &l->line, err) < 0)
            return -1;
        l->major = (int)strtol(l->line, &dot, 10);
        if (*dot != '.' || dot == l->line)
            return bad(err, "python line", "line");
        l->minor = (int)strtol(dot + 1, &end, 10);
        if (*end || end == dot + 1)
            return bad(err, "python line", "line");
        if (get_date(e, "first_release", "python line", &l->first_release, err) < 0 ||
            get_date(e, "end_of_support", "python line", &l->end_of_support, err) < 0)
            return -1;
    }
    return 0;
}

static int
cmp_art(const void *a, const void *b)
{
    return strcmp(((const struct snap_artifact *)a)->role, ((const struct snap_artifact *)b)->role);
}

static int
parse_runtimes(const cJSON *doc, struct snap *s, struct app_err *err)
{
    size_t n;
    const cJSON *a = get_array(doc, "runtimes", "document", &n, err), *e;

    if (!a)
        return -1;
    s->runtimes = xcalloc(n ? n : 1, sizeof(*s->runtimes));
    cJSON_ArrayForEach (e, a) {
        struct snap_runtime *r = &s->runtimes[s->n_runtimes++];
        const cJSON *arts, *ae;
        size_t na;

        if (get_str(e, "id", "runtime", 0, &r->id, err) < 0 ||
            get_str(e, "pyodide", "runtime", 0, &r->pyodide, err) < 0 ||
            get_str(e, "python", "runtime", 0, &r->python, err) < 0 ||
            get_str(e, "python_line", "runtime", 0, &r->line, err) < 0 ||
            get_str(e, "emscripten", "runtime", 0, &r->emscripten, err) < 0 ||
            get_str(e, "abi", "runtime", 0, &r->abi, err) < 0)
            return -1;
        arts = get_array(e, "artifacts", "runtime", &na, err);
        if (!arts)
            return -1;
        r->arts = xcalloc(na ? na : 1, sizeof(*r->arts));
        cJSON_ArrayForEach (ae, arts) {
            struct snap_artifact *art = &r->arts[r->n_arts++];

            if (get_str(ae, "role", "runtime artifact", 0, &art->role, err) < 0 ||
                get_str(ae, "file_name", "runtime artifact", 0, &art->file_name, err) < 0 ||
                get_str(ae, "sha256", "runtime artifact", 0, &art->sha256, err) < 0 ||
                get_int(ae, "size", "runtime artifact", 0, &art->size, err) < 0 ||
                get_bool(ae, "stored", "runtime artifact", &art->stored, err) < 0)
                return -1;
            if (!sha256_hex_valid(art->sha256))
                return bad(err, "runtime artifact", "sha256");
        }
        qsort(r->arts, r->n_arts, sizeof(*r->arts), cmp_art);
    }
    return 0;
}

static int
cmp_pkg(const void *a, const void *b)
{
    return strcmp(((const struct snap_pkg *)a)->name, ((const struct snap_pkg *)b)->name);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
parse_pkg(const cJSON *e, struct snap_pkg *p, struct app_err *err)
{
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");

    if (get_str(e, "name", "package", 0, &p->name, err) < 0 ||
        get_str(e, "version", "package", 0, &p->version, err) < 0 ||
        get_str(e, "file_name", "package", 0, &p->file_name, err) < 0 ||
        get_str(e, "sha256", "package", 0, &p->sha256, err) < 0 ||
        get_str(e, "package_type", "package", 0, &p->package_type, err) < 0 ||
        get_str(e, "install_dir", "package", 0, &p->install_dir, err) < 0 ||
        get_bool(e, "stored", "package", &p->stored, err) < 0 ||
        get_strings(e, "depends", "package", &p->depends, &p->n_depends, err) < 0 ||
        get_strings(e, "imports", "package", &p->imports, &p->n_imports, err) < 0)
        return -1;
    if (!sha256_hex_valid(p->sha256))
        return bad(err, "package", "sha256");
    p->size = -1;
    if (!cJSON_IsNull(size) && get_int(e, "size", "package", 0, &p->size, err) < 0)
        return -1;
    if (p->n_depends)
        qsort(p->depends, p->n_depends, sizeof(*p->depends), cmp_str);
    return 0;
}

static int
parse_sets(const cJSON *doc, struct snap *s, struct app_err *err)
{
    size_t n;
    const cJSON *a = get_array(doc, "package_sets", "document", &n, err), *e;

    if (!a)
        return -1;
    s->sets = xcalloc(n ? n : 1, sizeof(*s->sets));
    cJSON_ArrayForEach (e, a) {
        struct snap_set *set = &s->sets[s->n_sets++];
        const cJSON *pkgs, *pe;
        size_t np;

        if (get_str(e, "id", "package set", 0, &set->id, err) < 0 ||
            get_str(e, "runtime", "package set", 0, &set->runtime, err) < 0)
            return -1;
        pkgs = get_array(e, "packages", "package set", &np, err);
        if (!pkgs)
            return -1;
        set->pkgs = xcalloc(np ? np : 1, sizeof(*set->pkgs));
        cJSON_ArrayForEach (pe, pkgs) {
            if (parse_pkg(pe, &set->pkgs[set->n_pkgs++], err) < 0)
                return -1;
        }
        qsort(set->pkgs, set->n_pkgs, sizeof(*set->pkgs), cmp_pkg);
        for (size_t i = 1; i < set->n_pkgs; i++)
            if (strcmp(set->pkgs[i - 1].name, set->pkgs[i].name) == 0)
                return app_fail(err, APP_EINVAL,
                                "catalog snapshot: package set '%s' lists '%s' twice", set->id,
                                set->pkgs[i].name);
    }
    return 0;
}

static int
cmp_flag(const void *a, const void *b)
{
    return strcmp(((const struct flag_def *)a)->name, ((const struct flag_def *)b)->name);
}

static int
parse_flag(const cJSON *e, struct flag_def *f, struct app_err *err)
{
    const cJSON *ed = cJSON_GetObjectItemCaseSensitive(e, "enable_date");
    const cJSON *bundle = cJSON_GetObjectItemCaseSensitive(e, "bundle"), *imp, *ie;
    size_t ni;

    if (get_str(e, "name", "flag", 0, &f->name, err) < 0 ||
        get_str(e, "disable", "flag", 1, &f->disable, err) < 0 ||
        get_bool(e, "experimental", "flag", &f->experimental, err) < 0)
        return -1;
    if (!cJSON_IsNull(ed)) {
        if (get_date(e, "enable_date", "flag", &f->enable_date, err) < 0)
            return -1;
        f->has_enable_date = 1;
    }
    imp = get_array(e, "implied_by", "flag", &ni, err);
    if (!imp)
        return -1;
    f->implied = xcalloc(ni ? ni : 1, sizeof(*f->implied));
    cJSON_ArrayForEach (ie, imp) {
        struct flag_implied *fi = &f->implied[f->n_implied++];

        if (get_str(ie, "flag", "implied_by", 0, &fi->flag, err) < 0 ||
            get_date(ie, "after", "implied_by", &fi->after, err) < 0)
            return -1;
    }
    if (cJSON_IsObject(bundle)) {
        long long order;

        if (get_str(bundle, "runtime", "bundle", 0, &f->bundle_runtime, err) < 0 ||
            get_str(bundle, "package_set", "bundle", 0, &f->bundle_package_set, err) < 0 ||
            get_int(bundle, "order", "bundle", 1, &order, err) < 0)
            return -1;
        if (order > FLAG_BUNDLE_ORDER_MAX)
            return bad(err, "bundle", "order");
        f->bundle_order = (int)order;
    } else if (!cJSON_IsNull(bundle)) {
        return bad(err, "flag", "bundle");
    }
    return 0;
}

static int
parse_flags(const cJSON *doc, struct snap *s, struct app_err *err)
{
    size_t n;
    const cJSON *a = get_array(doc, "flags", "document", &n, err), *e;

    if (!a)
        return -1;
    s->flags = xcalloc(n ? n : 1, sizeof(*s->flags));
    cJSON_ArrayForEach (e, a) {
        if (parse_flag(e, &s->flags[s->n_flags++], err) < 0)
            return -1;
    }
    qsort(s->flags, s->n_flags, sizeof(*s->flags), cmp_flag);
    return 0;
}

static int
parse_meta(const cJSON *doc, struct snap_meta *m, struct app_err *err)
{
    const cJSON *ia = cJSON_GetObjectItemCaseSensitive(doc, "issued_at");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(doc, "expires");
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(doc, "previous");
    long long format;

    memset(m, 0, sizeof(*m));
    if (get_int(doc, "format", "document", 1, &format, err) < 0)
        return -1;
    if (format != SNAPJSON_FORMAT)
        return app_fail(err, APP_EINVAL,
                        "catalog snapshot format %lld is not supported (this client reads %d)",
                        format, SNAPJSON_FORMAT);
    if (get_int(doc, "version", "document", 1, &m->version, err) < 0)
        return -1;
    if (!cJSON_IsString(ia) || date_parse_rfc3339(ia->valuestring, &m->issued_at) < 0)
        return bad(err, "document", "issued_at");
    if (!cJSON_IsString(ex) || date_parse_rfc3339(ex->valuestring, &m->expires) < 0)
        return bad(err, "document", "expires");
    if (cJSON_IsString(prev) && strncmp(prev->valuestring, "sha256:", 7) == 0 &&
        sha256_hex_valid(prev->valuestring + 7))
        memcpy(m->previous, prev->valuestring, SNAPJSON_DIGEST_LEN - 1);
    else if (!cJSON_IsNull(prev))
        return bad(err, "document", "previous");
    return 0;
}

struct snap *
snap_parse(const char *bytes, size_t len, struct snap_meta *m, struct app_err *err)
{
    cJSON *doc = NULL;
    struct snap *s = NULL;

    if (len > SNAPJSON_MAX) {
        app_fail(err, APP_EINVAL, "catalog snapshot is larger than %u bytes", SNAPJSON_MAX);
        return NULL;
    }
    doc = json_parse(bytes, len, err);
    if (!doc)
        return NULL;
    if (!cJSON_IsObject(doc)) {
        app_fail(err, APP_EINVAL, "catalog snapshot is not a JSON object");
        goto out;
    }
    s = xcalloc(1, sizeof(*s));
    s->refs = 1;
    if (parse_meta(doc, m, err) < 0 || parse_lines(doc, s, err) < 0 ||
        parse_runtimes(doc, s, err) < 0 || parse_sets(doc, s, err) < 0 ||
        parse_flags(doc, s, err) < 0) {
        snap_free(s);
        s = NULL;
        goto out;
    }
    s->generation = (unsigned long)m->version;
out:
    cJSON_Delete(doc);
    return s;
}
