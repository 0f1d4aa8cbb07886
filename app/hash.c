/* app/hash.c: SHA-256 via libsodium, hex codecs, and whole-file reads. */
#include "app/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "app/mem.h"

#define HASH_CHUNK (256 * 1024)

void
hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int
hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
hex_decode(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(s[2 * i]), lo;

        if (hi < 0)
            return -1;
        lo = hex_nibble(s[2 * i + 1]);
        if (lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return s[2 * n] == '\0' ? 0 : -1;
}

int
sha256_hex_valid(const char *s)
{
    size_t i;

    for (i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[64] == '\0';
}

void
sha256_hex(const void *p, size_t n, char out[APP_SHA256_HEX])
{
    uint8_t d[APP_SHA256_LEN];

    crypto_hash_sha256(d, p, n);
    hex_encode(d, sizeof(d), out);
}

int
sha256_file(const char *path, char out[APP_SHA256_HEX], uint64_t *size, struct app_err *err)
{
    crypto_hash_sha256_state st;
    uint8_t d[APP_SHA256_LEN];
    uint64_t total = 0;
    char *chunk = NULL;
    int fd, ret = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return app_fail(err, APP_ENOTFOUND, "cannot open '%s': %s", path, strerror(errno));
    chunk = xmalloc(HASH_CHUNK);
    crypto_hash_sha256_init(&st);
    for (;;) {
        ssize_t n = read(fd, chunk, HASH_CHUNK);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            app_fail(err, APP_EINTERNAL, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        crypto_hash_sha256_update(&st, (const unsigned char *)chunk, (size_t)n);
        total += (uint64_t)n;
    }
    crypto_hash_sha256_final(&st, d);
    hex_encode(d, sizeof(d), out);
    if (size)
        *size = total;
    ret = 0;
out:
    free(chunk);
    close(fd);
    return ret;
}

int
file_read_all(const char *path, char **out, size_t *len, size_t limit, struct app_err *err)
{
    struct stat sb;
    char *p = NULL;
    size_t got = 0;
    int fd, ret = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return app_fail(err, APP_ENOTFOUND, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        app_fail(err, APP_EINVAL, "'%s' is not a regular file", path);
        goto out;
    }
    if (limit && (size_t)sb.st_size > limit) {
        app_fail(err, APP_ETOOLARGE, "'%s' is larger than %zu bytes", path, limit);
        goto out;
    }
    p = xmalloc((size_t)sb.st_size + 1);
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            app_fail(err, APP_EINTERNAL, "cannot read '%s'", path);
            goto out;
        }
        got += (size_t)n;
    }
    p[got] = '\0';
    *out = p;
    *len = got;
    p = NULL;
    ret = 0;
out:
    free(p);
    close(fd);
    return ret;
}
