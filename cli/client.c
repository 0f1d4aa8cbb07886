/* cli/client.c: libcurl requests to almanacd and problem documents as errors.
 *
 * One easy handle per invocation so consecutive requests reuse the connection.
 */
#include "cli/client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "app/json.h"
#include "app/mem.h"
#include "cli/output.h"

#define CLI_CONNECT_TIMEOUT_S 10L
#define CLI_HEADER_MAX 512

struct cli_http {
    CURL *easy;
};

struct xfer {
    struct cli_response *resp;
    int overflow;
};

void
cli_http_free(struct cli_http *h)
{
    if (!h)
        return;
    if (h->easy)
        curl_easy_cleanup(h->easy);
    free(h);
}

/* One URL of the list: http(s), trailing slashes dropped. */
static char *
server_url(const char *url, size_t n, struct app_err *err)
{
    if ((n < 7 || strncmp(url, "http://", 7) != 0) && (n < 8 || strncmp(url, "https://", 8) != 0)) {
        app_fail(err, APP_EINVAL, "server '%.*s' is not an http:// or https:// URL", (int)n, url);
        return NULL;
    }
    while (n > 0 && url[n - 1] == '/')
        n--;
    return xstrndup(url, n);
}

int
cli_set_server(struct cli *c, const char *url, struct app_err *err)
{
    char **v = NULL;
    size_t nv = 0;
    const char *p = url ? url : "";

    /* A list: commas or spaces between URLs, tried in order (issue 14). */
    while (*p) {
        size_t n;
        char *one;

        p += strspn(p, ", \t");
        n = strcspn(p, ", \t");
        if (!n)
            break;
        one = server_url(p, n, err);
        if (!one) {
            for (size_t i = 0; i < nv; i++)
                free(v[i]);
            free(v);
            return -1;
        }
        v = xrealloc(v, (nv + 1) * sizeof(*v));
        v[nv++] = one;
        p += n;
    }
    if (!nv)
        return app_fail(err, APP_EINVAL, "server '%s' is not an http:// or https:// URL",
                        url ? url : "");
    for (size_t i = 0; i < c->n_servers; i++)
        free(c->servers[i]);
    free(c->servers);
    c->servers = v;
    c->n_servers = nv;
    c->server_i = 0;
    c->static_tree = -1;
    free(c->server);
    c->server = xstrdup(v[0]);
    return 0;
}

/* Move to the next server of the list after a failure; 0 when there is one. */
static int
next_server(struct cli *c, const char *why)
{
    if (c->server_i + 1 >= c->n_servers)
        return -1;
    c->server_i++;
    if (!c->quiet)
        fprintf(stderr, "almanac: %s failed (%s); falling back to %s\n", c->server, why,
                c->servers[c->server_i]);
    free(c->server);
    c->server = xstrdup(c->servers[c->server_i]);
    c->fell_back = 1;
    c->static_tree = -1;
    return 0;
}

char *
cli_url(const struct cli *c, const char *path)
{
    return xasprintf("%s%s", c->server, path);
}

char *
cli_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *p = out;

    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (isalnum(*q) || *q == '-' || *q == '_' || *q == '.' || *q == '~') {
            *p++ = (char)*q;
        } else {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 15];
        }
    }
    *p = '\0';
    return out;
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;

    if (buf_append(&x->resp->body, ptr, n) < 0) {
        x->overflow = 1;
        return 0;
    }
    return n;
}

/* Keep a header's value when its name matches; values are trimmed. */
static void
take_header(const char *line, size_t n, const char *name, char **slot)
{
    size_t k = strlen(name);

    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    free(*slot);
    *slot = xstrndup(line, n);
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;

    take_header(line, n, "Content-Type", &x->resp->content_type);
    take_header(line, n, "Content-Encoding", &x->resp->content_encoding);
    return n;
}

static CURL *
easy_of(struct cli *c)
{
    if (!c->http) {
        c->http = xcalloc(1, sizeof(*c->http));
        c->http->easy = curl_easy_init();
        if (!c->http->easy) {
            fprintf(stderr, "almanac: cannot initialize libcurl\n");
            abort();
        }
    }
    curl_easy_reset(c->http->easy);
    return c->http->easy;
}

int
cli_request_raw(struct cli *c, const char *method, const char *path,
                const char *const *extra_headers, const char *content_type, const void *body,
                size_t len, size_t limit, struct cli_response *resp, struct app_err *err)
{
    CURL *h = easy_of(c);
    struct curl_slist *hdrs = NULL;
    struct xfer x = {resp, 0};
    char line[CLI_HEADER_MAX];
    char curl_msg[CURL_ERROR_SIZE] = "";
    char *url = cli_url(c, path);
    CURLcode rc;
    int ret = -1;

    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, limit);
    /* --offline means no network at all: a command that reaches here under it
     * needs the server, and says so rather than quietly connecting. */
    if (c->offline) {
        app_fail(err, APP_EUNAVAILABLE, "--offline: %s %s needs the server", method, path);
        goto out;
    }
    if (c->token) {
        if ((size_t)snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token) >=
            sizeof(line)) {
            app_fail(err, APP_EINVAL, "ALMANAC_TOKEN is too long");
            goto out;
        }
        hdrs = curl_slist_append(hdrs, line);
    }
    if (body && content_type) {
        if ((size_t)snprintf(line, sizeof(line), "Content-Type: %s", content_type) >=
            sizeof(line)) {
            app_fail(err, APP_EINVAL, "content type is too long");
            goto out;
        }
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; extra_headers && extra_headers[i]; i++)
        hdrs = curl_slist_append(hdrs, extra_headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "almanac/" ALMANAC_CLI_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLI_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    rc = curl_easy_perform(h);
    if (!x.overflow) {
        long st = 0;
        char why[128];

        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        /* 501 is a plain file server refusing a method, not a failing server. */
        if (rc != CURLE_OK || (st >= 500 && st != 501)) {
            if (rc != CURLE_OK)
                snprintf(why, sizeof(why), "%s", curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
            else
                snprintf(why, sizeof(why), "it answered %ld", st);
            if (next_server(c, why) == 0) {
                curl_slist_free_all(hdrs);
                free(url);
                cli_response_release(resp);
                return cli_request_raw(c, method, path, extra_headers, content_type, body, len,
                                       limit, resp, err);
            }
        } else if (c->fell_back == 1) {
            c->fell_back = 2;
            if (!c->quiet)
                fprintf(stderr, "almanac: served by %s\n", c->server);
        }
    }
    if (x.overflow) {
        app_fail(err, APP_EUNAVAILABLE, "the answer to %s %s is larger than %zu bytes", method,
                 path, limit);
        goto out;
    }
    if (rc != CURLE_OK) {
        app_fail(err, APP_EUNAVAILABLE, "cannot reach %s: %s", c->server,
                 curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    ret = 0;
out:
    curl_slist_free_all(hdrs);
    free(url);
    return ret;
}

void
cli_response_release(struct cli_response *r)
{
    if (!r)
        return;
    buf_release(&r->body);
    free(r->content_type);
    free(r->content_encoding);
    r->content_type = r->content_encoding = NULL;
}

int
cli_problem(const struct cli *c, const struct cli_response *resp, struct app_err *err)
{
    cJSON *doc = NULL;
    const cJSON *errors, *e;
    const char *detail = NULL;
    enum app_code code = app_code_of_status(resp->status);

    if (resp->body.len > 0)
        doc = cJSON_ParseWithLength(resp->body.data, resp->body.len);
    if (cJSON_IsObject(doc)) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "detail");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "title");

        if (cJSON_IsString(d) && d->valuestring[0])
            detail = d->valuestring;
        else if (cJSON_IsString(t) && t->valuestring[0])
            detail = t->valuestring;
    }
    if (detail)
        app_fail(err, code, "%s", detail);
    else
        app_fail(err, code, "server %s answered %ld", c->server, resp->status);
    if (resp->status == 401 && !c->token && err)
        app_err_add(err, "hint",
                    "set ALMANAC_TOKEN to an admin token (on the server host: almanacd "
                    "token create --data DIR)");
    errors = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "errors") : NULL;
    if (err && cJSON_IsArray(errors)) {
        cJSON_ArrayForEach (e, errors) {
            const cJSON *ec = cJSON_GetObjectItemCaseSensitive(e, "code");
            const cJSON *em = cJSON_GetObjectItemCaseSensitive(e, "message");
            cJSON *copy;

            if (!cJSON_IsString(em))
                continue;
            copy = app_err_add(err, cJSON_IsString(ec) ? ec->valuestring : "error", "%s",
                               em->valuestring);
            /* Keep the subject fields (flag, name, ...) for --json users. */
            for (const cJSON *f = e->child; copy && f; f = f->next)
                if (f->string && strcmp(f->string, "code") != 0 &&
                    strcmp(f->string, "message") != 0)
                    cJSON_AddItemToObject(copy, f->string, xjson(cJSON_Duplicate(f, 1)));
        }
    }
    cJSON_Delete(doc);
    return -1;
}

int
cli_request(struct cli *c, const char *method, const char *path, const cJSON *body, cJSON **out,
            long *status, struct app_err *err)
{
    struct cli_response resp;
    char *text = NULL;
    size_t len = 0;
    int ret = -1;

    if (out)
        *out = NULL;
    if (status)
        *status = 0;
    if (body)
        text = json_canonical(body, &len);
    if (cli_request_raw(c, method, path, (const char *const[]){"Accept: application/json", NULL},
                        "application/json", text, len, CLI_JSON_MAX, &resp, err) < 0)
        goto out;
    if (status)
        *status = resp.status;
    if (resp.status < 200 || resp.status >= 300) {
        cli_problem(c, &resp, err);
        goto out;
    }
    if (out && resp.body.len > 0) {
        *out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
        if (!*out) {
            app_fail(err, APP_EUNAVAILABLE, "the answer to %s %s is not JSON", method, path);
            goto out;
        }
    }
    ret = 0;
out:
    cli_response_release(&resp);
    free(text);
    return ret;
}

int
cli_server_is_static(struct cli *c)
{
    struct cli_response r;
    struct app_err e = {0};
    cJSON *doc = NULL;
    int is_static = 0;

    if (c->static_tree >= 0)
        return c->static_tree;
    if (cli_request_raw(c, "GET", "/" CLI_STATIC_MARKER, NULL, NULL, NULL, 0, CLI_STATIC_MARKER_MAX,
                        &r, &e) == 0 &&
        r.status == 200 && r.body.len)
        doc = cJSON_ParseWithLength(r.body.data, r.body.len);
    if (cJSON_IsObject(doc) &&
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, "almanac_mirror")))
        is_static = 1;
    /* Set after the request: a fallback during it reset the answer for the new server. */
    c->static_tree = is_static;
    cJSON_Delete(doc);
    cli_response_release(&r);
    app_err_release(&e);
    return c->static_tree;
}
