/* server/net.c: listening sockets, trusted proxies, request ids. */
#include "server/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sodium.h>

#include "app/hash.h"
#include "app/mem.h"

#define LISTEN_BACKLOG 511
#define FORWARDED_HOPS_MAX 32

/* Split spec into host (may be empty) and port; -1 when malformed. */
static int
split_spec(const char *spec, char *host, size_t host_len, char *port, size_t port_len)
{
    const char *colon;
    size_t hl;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');

        if (!close || close[1] != ':')
            return -1;
        hl = (size_t)(close - spec - 1);
        if (hl == 0 || hl >= host_len)
            return -1;
        memcpy(host, spec + 1, hl);
        host[hl] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || memchr(spec, ':', (size_t)(colon - spec)))
            return -1; /* a bare IPv6 address needs brackets */
        hl = (size_t)(colon - spec);
        if (hl >= host_len)
            return -1;
        memcpy(host, spec, hl);
        host[hl] = '\0';
    }
    if (!colon[1] || strlen(colon + 1) >= port_len ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    if (strtol(colon + 1, NULL, 10) > 65535)
        return -1;
    snprintf(port, port_len, "%s", colon + 1);
    return 0;
}

static void
format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    char h[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

        inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
        snprintf(out, len, "[%s]:%u", h, (unsigned)ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

        inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
        snprintf(out, len, "%s:%u", h, (unsigned)ntohs(s4->sin_port));
    }
}

int
srv_listen_check(const char *spec)
{
    char host[SRV_ADDR_MAX], port[8];

    return split_spec(spec, host, sizeof(host), port, sizeof(port));
}

int
srv_listen_open(const char *spec, int reuse_port, int *fd_out, char *shown, struct app_err *err)
{
    char host[SRV_ADDR_MAX], port[8], where[SRV_ADDR_MAX];
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    int fd = -1, one = 1, rc, saved = 0, ret = -1;

    if (split_spec(spec, host, sizeof(host), port, sizeof(port)) < 0)
        return app_fail(err, APP_EINVAL, "--listen '%.80s' is not HOST:PORT, [IPV6]:PORT or :PORT",
                        spec);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (!host[0])
        hints.ai_family = AF_INET6; /* ":PORT": every interface, v4 mapped */
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 && !host[0]) {
        hints.ai_family = AF_INET;
        rc = getaddrinfo(NULL, port, &hints, &res);
    }
    if (rc != 0)
        return app_fail(err, APP_EINVAL, "cannot listen on %s: %s", spec, gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        /* SO_REUSEADDR only lets a restart bind past TIME_WAIT; it never shares a
         * port with a live listener. SO_REUSEPORT would, so it is opt-in. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuse_port)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (ai->ai_family == AF_INET6 && !host[0]) {
            int zero = 0;

            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        }
        format_addr(ai->ai_addr, where, sizeof(where));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        app_fail(err, APP_EUNAVAILABLE, "cannot listen on %s: %s", res ? where : spec,
                 saved == EADDRINUSE ? "address already in use" : strerror(saved));
        goto out;
    }
    if (shown) {
        if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
            format_addr((struct sockaddr *)&bound, shown, SRV_ADDR_MAX);
        else
            snprintf(shown, SRV_ADDR_MAX, "%s", spec);
    }
    *fd_out = fd;
    ret = 0;
out:
    freeaddrinfo(res);
    return ret;
}

int
srv_cidr_parse(const char *s, struct srv_cidr *out)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    long bits;
    char *end = NULL;

    if (n == 0 || n >= sizeof(addr))
        return -1;
    memcpy(addr, s, n);
    addr[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, addr, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -1;
    bits = out->family == AF_INET ? 32 : 128;
    if (slash) {
        long max = bits;

        errno = 0;
        bits = strtol(slash + 1, &end, 10);
        if (errno || !slash[1] || *end || bits < 0 || bits > max)
            return -1;
    }
    out->bits = (unsigned)bits;
    return 0;
}

/* Does CIDR c hold the address (family fam, bytes a)? An IPv4-mapped IPv6 peer is
 * matched against IPv4 ranges. */
static int
cidr_has(const struct srv_cidr *c, int fam, const uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned full, rest;

    if (fam == AF_INET6 && c->family == AF_INET && memcmp(a, mapped, 12) == 0) {
        fam = AF_INET;
        a += 12;
    }
    if (fam != c->family)
        return 0;
    full = c->bits / 8;
    rest = c->bits % 8;
    if (memcmp(a, c->addr, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));

        if ((a[full] & mask) != (c->addr[full] & mask))
            return 0;
    }
    return 1;
}

static int
trusted_text(const struct srv_cidr *trusted, size_t n, const char *ip)
{
    uint8_t a[16];

    if (inet_pton(AF_INET, ip, a) == 1) {
        for (size_t i = 0; i < n; i++)
            if (cidr_has(&trusted[i], AF_INET, a))
                return 1;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        for (size_t i = 0; i < n; i++)
            if (cidr_has(&trusted[i], AF_INET6, a))
                return 1;
    }
    return 0;
}

/* One hop of a Forwarded "for=" or X-Forwarded-For item, cleaned to a bare address
 * (quotes, brackets and a port removed); "" when it is not an IP address. */
static void
clean_hop(const char *s, size_t n, char *out, size_t len)
{
    char tmp[INET6_ADDRSTRLEN + 16];
    uint8_t a[16];
    char *p;

    while (n && (*s == ' ' || *s == '"'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '"'))
        n--;
    out[0] = '\0';
    if (n == 0 || n >= sizeof(tmp))
        return;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    p = tmp;
    if (*p == '[') {
        char *close = strchr(p, ']');

        if (!close)
            return;
        *close = '\0';
        p++;
    } else if (strchr(p, ':') == strrchr(p, ':') && strchr(p, ':')) {
        *strchr(p, ':') = '\0'; /* v4:port */
    }
    /* Re-format from the parsed bytes: the result is canonical and fits. */
    if (inet_pton(AF_INET, p, a) == 1)
        inet_ntop(AF_INET, a, out, (socklen_t)len);
    else if (inet_pton(AF_INET6, p, a) == 1)
        inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

/* The hops of X-Forwarded-For ("a, b") or Forwarded ("for=a;proto=..., for=b"),
 * nearest last; returns the count (at most max). */
static size_t
forwarded_hops(const char *h, int rfc7239, char hops[][INET6_ADDRSTRLEN], size_t max)
{
    size_t n = 0;

    while (h && *h && n < max) {
        const char *comma = strchr(h, ',');
        size_t len = comma ? (size_t)(comma - h) : strlen(h);

        if (rfc7239) {
            const char *p = h;

            hops[n][0] = '\0';
            while (p < h + len) {
                const char *semi = memchr(p, ';', (size_t)(h + len - p));
                size_t plen = semi ? (size_t)(semi - p) : (size_t)(h + len - p);

                while (plen && *p == ' ')
                    p++, plen--;
                if (plen > 4 && strncasecmp(p, "for=", 4) == 0)
                    clean_hop(p + 4, plen - 4, hops[n], INET6_ADDRSTRLEN);
                p += plen + (semi ? 1 : 0);
                if (!semi)
                    break;
            }
        } else {
            clean_hop(h, len, hops[n], INET6_ADDRSTRLEN);
        }
        n++;
        h = comma ? comma + 1 : NULL;
    }
    return n;
}

void
srv_client_address(const struct sockaddr *peer, const char *forwarded, const char *xff,
                   const struct srv_cidr *trusted, size_t n_trusted, char *out)
{
    char ip[INET6_ADDRSTRLEN] = "-";
    char hops[FORWARDED_HOPS_MAX][INET6_ADDRSTRLEN];
    size_t n = 0;

    if (peer && peer->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, ip,
                  sizeof(ip));
    else if (peer && peer->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr, ip,
                  sizeof(ip));
    snprintf(out, SRV_CLIENT_MAX, "%s", ip);
    if (!n_trusted || !trusted_text(trusted, n_trusted, ip))
        return;
    /* Walk from the nearest hop outwards; the first untrusted one is the client. */
    if (forwarded)
        n = forwarded_hops(forwarded, 1, hops, FORWARDED_HOPS_MAX);
    else if (xff)
        n = forwarded_hops(xff, 0, hops, FORWARDED_HOPS_MAX);
    while (n > 0) {
        n--;
        if (!hops[n][0])
            return; /* an obfuscated or malformed hop: stop at the last known one */
        snprintf(out, SRV_CLIENT_MAX, "%s", hops[n]);
        if (!trusted_text(trusted, n_trusted, hops[n]))
            return;
    }
}

static char id_prefix[9];
static unsigned long id_counter;

void
srv_request_id_init(void)
{
    uint8_t raw[4];

    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), id_prefix);
}

static int
id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SRV_REQUEST_ID_MAX)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

void
srv_request_id(const char *client_id, char *out)
{
    if (client_id && id_valid(client_id)) {
        snprintf(out, SRV_REQUEST_ID_MAX + 1, "%s", client_id);
        return;
    }
    /* A per-process random prefix and a counter: unique, and cheap per request. */
    snprintf(out, SRV_REQUEST_ID_MAX + 1, "%s-%08lx", id_prefix,
             __atomic_add_fetch(&id_counter, 1, __ATOMIC_RELAXED));
}
