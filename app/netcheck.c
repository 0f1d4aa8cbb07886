/* app/netcheck.c: refused address ranges for webhook targets (netcheck.h). */
#include "app/netcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

struct v4_range {
    uint32_t net, mask; /* host byte order */
};

static const struct v4_range v4_refused[] = {
    {0x00000000u, 0xFF000000u}, /* 0.0.0.0/8 */
    {0x0A000000u, 0xFF000000u}, /* 10.0.0.0/8 */
    {0x64400000u, 0xFFC00000u}, /* 100.64.0.0/10 */
    {0x7F000000u, 0xFF000000u}, /* 127.0.0.0/8 */
    {0xA9FE0000u, 0xFFFF0000u}, /* 169.254.0.0/16 */
    {0xAC100000u, 0xFFF00000u}, /* 172.16.0.0/12 */
    {0xC0000000u, 0xFFFFFF00u}, /* 192.0.0.0/24 */
    {0xC0000200u, 0xFFFFFF00u}, /* 192.0.2.0/24 */
    {0xC0A80000u, 0xFFFF0000u}, /* 192.168.0.0/16 */
    {0xC6120000u, 0xFFFE0000u}, /* 198.18.0.0/15 */
    {0xC6336400u, 0xFFFFFF00u}, /* 198.51.100.0/24 */
    {0xCB007100u, 0xFFFFFF00u}, /* 203.0.113.0/24 */
    {0xE0000000u, 0xF0000000u}, /* 224.0.0.0/4 */
    {0xF0000000u, 0xF0000000u}, /* 240.0.0.0/4 */
};

int
net_v4_refused(uint32_t addr_be)
{
    uint32_t a = ntohl(addr_be);

    for (size_t i = 0; i < sizeof(v4_refused) / sizeof(v4_refused[0]); i++)
        if ((a & v4_refused[i].mask) == v4_refused[i].net)
            return 1;
    return 0;
}

static uint32_t
v4_at(const uint8_t *p)
{
    uint32_t be;

    memcpy(&be, p, 4);
    return be;
}

int
net_v6_refused(const uint8_t a[16])
{
    static const uint8_t zero[16] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const uint8_t nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t discard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};

    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
        return 1; /* :: and ::1 */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 || memcmp(a, zero, 12) == 0)
        return net_v4_refused(v4_at(a + 12)); /* an IPv4 address inside */
    if ((a[0] & 0xFE) == 0xFC)
        return 1; /* fc00::/7 */
    if (a[0] == 0xFE && ((a[1] & 0xC0) == 0x80 || (a[1] & 0xC0) == 0xC0))
        return 1; /* fe80::/10, fec0::/10 */
    if (a[0] == 0xFF)
        return 1; /* multicast */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8)
        return 1; /* 2001:db8::/32 */
    if (memcmp(a, discard, 8) == 0)
        return 1; /* 100::/64 */
    return 0;
}

int
net_addr_refused(const struct sockaddr *sa)
{
    if (!sa)
        return 1;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;

        memcpy(&in, sa, sizeof(in));
        return net_v4_refused(in.sin_addr.s_addr);
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;

        memcpy(&in6, sa, sizeof(in6));
        return net_v6_refused(in6.sin6_addr.s6_addr);
    }
    return 1;
}

int
net_literal_refused(const char *text)
{
    char buf[64];
    size_t n = strlen(text);
    struct in_addr v4;
    struct in6_addr v6;

    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, text, n);
    buf[n] = '\0';
    {
        char *pct = strchr(buf, '%'); /* a zone id: fe80::1%eth0 */

        if (pct)
            *pct = '\0';
    }
    if (inet_pton(AF_INET, buf, &v4) == 1)
        return net_v4_refused(v4.s_addr);
    if (inet_pton(AF_INET6, buf, &v6) == 1)
        return net_v6_refused(v6.s6_addr);
    return 0;
}
