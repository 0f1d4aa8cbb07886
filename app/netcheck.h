/* app/netcheck.h: is an address one a webhook may be sent to?
 *
 * Pure: no I/O, no DNS. Webhook deliveries go where an admin's URL says, from inside
 * the operator's network, so a URL naming (or a host name resolving to) an internal
 * address would let the webhook feature probe and post to internal services and to
 * cloud metadata endpoints. almanacd therefore refuses, unless the operator passes
 * --webhook-allow-private, every address in these ranges:
 *   IPv4  0.0.0.0/8 (this network), 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16
 *         (private), 100.64.0.0/10 (shared/CGNAT), 127.0.0.0/8 (loopback),
 *         169.254.0.0/16 (link-local, incl. the 169.254.169.254 metadata service),
 *         192.0.0.0/24 (IETF protocol assignments), 192.0.2.0/24, 198.51.100.0/24,
 *         203.0.113.0/24 (documentation), 198.18.0.0/15 (benchmarking),
 *         224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved, incl. broadcast);
 *   IPv6  ::, ::1, fc00::/7 (unique local, incl. fd00:ec2::254 metadata),
 *         fe80::/10 (link-local), fec0::/10 (old site-local), ff00::/8 (multicast),
 *         2001:db8::/32 (documentation), 100::/64 (discard), and every IPv4 form
 *         embedded in IPv6 (::ffff:a.b.c.d mapped, ::a.b.c.d compatible,
 *         64:ff9b::/96 NAT64), judged by the IPv4 address inside.
 * The check runs on the address libcurl is about to connect to (its open-socket
 * callback), on every attempt, so a name that resolves to a private address at
 * delivery time is refused as well, whatever it resolved to when registered.
 */
#ifndef APP_NETCHECK_H
#define APP_NETCHECK_H

#include <stdint.h>
#include <sys/socket.h>

/* 1 when the IPv4 address (network byte order, as in struct in_addr) is in a
 * refused range, else 0. */
int net_v4_refused(uint32_t addr_be);

/* 1 when the 16-byte IPv6 address is in a refused range, else 0. */
int net_v6_refused(const uint8_t a[16]);

/* 1 when sa (AF_INET or AF_INET6) is refused; any other family is refused too. */
int net_addr_refused(const struct sockaddr *sa);

/* 1 when text is an IPv4 or IPv6 literal (brackets allowed) in a refused range;
 * 0 for a public literal or for a host name (names are judged at connect time). */
int net_literal_refused(const char *text);

#endif
