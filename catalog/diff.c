/* catalog/diff.c: what changes between the resolutions of two inputs (GET /v1/diff):
 * flags switched on and off, the runtime, the package set and each package's
 * version. Pure: both sides resolve against the same snapshot. */
#include "catalog/diff.h"

#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "app/mem.h"

static const cJSON *
find_pkg(const cJSON *pkgs, const char *name)
{
    const cJSON *p;

    cJSON_ArrayForEach (p, pkgs) {
        if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, name) == 0)
            return p;
    }
    return NULL;
}

static cJSON *
side_json(const struct res_output *o)
{
    cJSON *side = xjson(cJSON_CreateObject());
    const cJSON *lock = o->lock, *rt = cJSON_GetObjectItem(lock, "runtime");

    xjson(cJSON_AddStringToObject(side, "compatibility_date",
                                  cJSON_GetObjectItem(lock, "compatibility_date")->valuestring));
    xjson(cJSON_AddStringToObject(side, "lock_id", o->lock_id));
    cJSON_AddItemToObject(side, "runtime", xjson(cJSON_Duplicate(rt, 1)));
    cJSON_AddItemToObject(side, "package_set",
                          xjson(cJSON_Duplicate(cJSON_GetObjectItem(lock, "package_set"), 1)));
    cJSON_AddItemToObject(side, "policy", xjson(cJSON_Duplicate(o->policy, 1)));
    return side;
}

static const char *
str_or_null(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItem(obj, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
add_change(cJSON *o, const char *key, const char *a, const char *b)
{
    cJSON *c = xjson(cJSON_AddObjectToObject(o, key));

    json_add_str_or_null(c, "from", a);
    json_add_str_or_null(c, "to", b);
    xjson(cJSON_AddBoolToObject(c, "changed",
                                !((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0))));
}

/* Packages compared by name: added, removed, version changed. When no requirements
 * were given, the whole package sets are compared. */
static cJSON *
package_changes(const cJSON *from_pkgs, const cJSON *to_pkgs)
{
    cJSON *out = xjson(cJSON_CreateObject());
    cJSON *added = xjson(cJSON_AddArrayToObject(out, "added"));
    cJSON *removed = xjson(cJSON_AddArrayToObject(out, "removed"));
    cJSON *changed = xjson(cJSON_AddArrayToObject(out, "changed"));
    const cJSON *p;

    cJSON_ArrayForEach (p, from_pkgs) {
        const char *name = cJSON_GetObjectItem(p, "name")->valuestring;
        const cJSON *q = find_pkg(to_pkgs, name);
        const char *va = cJSON_GetObjectItem(p, "version")->valuestring;

        if (!q) {
            cJSON *o = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(o, "name", name));
            xjson(cJSON_AddStringToObject(o, "version", va));
            cJSON_AddItemToArray(removed, o);
        } else if (strcmp(va, cJSON_GetObjectItem(q, "version")->valuestring) != 0) {
            cJSON *o = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(o, "name", name));
            xjson(cJSON_AddStringToObject(o, "from", va));
            xjson(cJSON_AddStringToObject(o, "to", cJSON_GetObjectItem(q, "version")->valuestring));
            cJSON_AddItemToArray(changed, o);
        }
    }
    cJSON_ArrayForEach (p, to_pkgs) {
        const char *name = cJSON_GetObjectItem(p, "name")->valuestring;

        if (!find_pkg(from_pkgs, name)) {
            cJSON *o = xjson(cJSON_CreateObject());

            xjson(cJSON_AddStringToObject(o, "name", name));
            xjson(cJSON_AddStringToObject(o, "version",
                                          cJSON_GetObjectItem(p, "version")->valuestring));
            cJSON_AddItemToArray(added, o);
        }
    }
    return out;
}

static cJSON *
set_packages(const struct snap *s, const char *set_id)
{
    const struct snap_set *set = snap_set(s, set_id);
    cJSON *arr = xjson(cJSON_CreateArray());

    for (size_t i = 0; set && i < set->n_pkgs; i++) {
        cJSON *o = xjson(cJSON_CreateObject());

        xjson(cJSON_AddStringToObject(o, "name", set->pkgs[i].name));
        xjson(cJSON_AddStringToObject(o, "version", set->pkgs[i].version));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void
move_errors(struct app_err *dst, struct app_err *src, const char *side)
{
    cJSON *e;

    if (!dst->errors)
        dst->errors = xjson(cJSON_CreateArray());
    while (src->errors && (e = cJSON_DetachItemFromArray(src->errors, 0))) {
        xjson(cJSON_AddStringToObject(e, "side", side));
        cJSON_AddItemToArray(dst->errors, e);
    }
}

cJSON *
res_diff(const struct snap *s, const struct res_input *from, const struct res_input *to,
         struct app_err *err)
{
    struct res_output a = {0}, b = {0};
    struct app_err ea = {0}, eb = {0};
    cJSON *out = NULL, *flags, *on, *off, *fa = NULL, *fb = NULL;
    int ra = res_resolve(s, from, &a, &ea), rb = res_resolve(s, to, &b, &eb);

    if (ra < 0 || rb < 0) {
        struct app_err *first = ra < 0 ? &ea : &eb;

        if (first->code != APP_EUNPROCESSABLE) {
            app_fail(err, first->code, "%s", first->msg);
            goto out;
        }
        if (ra < 0)
            move_errors(err, &ea, "from");
        if (rb < 0)
            move_errors(err, &eb, "to");
        app_fail(err, APP_EUNPROCESSABLE, "%s does not resolve: %s", ra < 0 ? "from" : "to",
                 first->msg);
        goto out;
    }
    out = xjson(cJSON_CreateObject());
    cJSON_AddItemToObject(out, "from", side_json(&a));
    cJSON_AddItemToObject(out, "to", side_json(&b));
    flags = xjson(cJSON_AddObjectToObject(out, "flags"));
    on = xjson(cJSON_AddArrayToObject(flags, "turned_on"));
    off = xjson(cJSON_AddArrayToObject(flags, "turned_off"));
    {
        const cJSON *ea_l = cJSON_GetObjectItem(a.lock, "enabled_flags");
        const cJSON *eb_l = cJSON_GetObjectItem(b.lock, "enabled_flags");
        const cJSON *f, *g;

        cJSON_ArrayForEach (f, eb_l) {
            int found = 0;

            cJSON_ArrayForEach (g, ea_l)
                found |= strcmp(f->valuestring, g->valuestring) == 0;
            if (!found)
                cJSON_AddItemToArray(on, xjson(cJSON_CreateString(f->valuestring)));
        }
        cJSON_ArrayForEach (f, ea_l) {
            int found = 0;

            cJSON_ArrayForEach (g, eb_l)
                found |= strcmp(f->valuestring, g->valuestring) == 0;
            if (!found)
                cJSON_AddItemToArray(off, xjson(cJSON_CreateString(f->valuestring)));
        }
    }
    {
        const cJSON *rta = cJSON_GetObjectItem(a.lock, "runtime");
        const cJSON *rtb = cJSON_GetObjectItem(b.lock, "runtime");

        add_change(out, "runtime", str_or_null(rta, "id"), str_or_null(rtb, "id"));
        add_change(out, "python", str_or_null(rta, "python"), str_or_null(rtb, "python"));
        add_change(out, "python_line", str_or_null(rta, "python_line"),
                   str_or_null(rtb, "python_line"));
        add_change(out, "package_set", str_or_null(a.lock, "package_set"),
                   str_or_null(b.lock, "package_set"));
    }
    if (from->n_requirements || to->n_requirements) {
        xjson(cJSON_AddStringToObject(out, "packages_scope", "requirements"));
        cJSON_AddItemToObject(out, "packages",
                              package_changes(cJSON_GetObjectItem(a.lock, "packages"),
                                              cJSON_GetObjectItem(b.lock, "packages")));
    } else {
        fa = set_packages(s, str_or_null(a.lock, "package_set"));
        fb = set_packages(s, str_or_null(b.lock, "package_set"));
        xjson(cJSON_AddStringToObject(out, "packages_scope", "package_set"));
        cJSON_AddItemToObject(out, "packages", package_changes(fa, fb));
    }
    {
        cJSON *w = xjson(cJSON_AddArrayToObject(out, "warnings"));
        const cJSON *x;

        cJSON_ArrayForEach (x, a.warnings) {
            cJSON *d = xjson(cJSON_Duplicate(x, 1));

            xjson(cJSON_AddStringToObject(d, "side", "from"));
            cJSON_AddItemToArray(w, d);
        }
        cJSON_ArrayForEach (x, b.warnings) {
            cJSON *d = xjson(cJSON_Duplicate(x, 1));

            xjson(cJSON_AddStringToObject(d, "side", "to"));
            cJSON_AddItemToArray(w, d);
        }
    }
out:
    cJSON_Delete(fa);
    cJSON_Delete(fb);
    res_output_release(&a);
    res_output_release(&b);
    app_err_release(&ea);
    app_err_release(&eb);
    return out;
}
