/* server/net.h: the listening socket, client addresses behind trusted proxies, and
 * request ids.
 *
 * almanacd binds its own socket instead of letting libmicrohttpd do it, so that a
 * taken port is one clear error naming the address, SO_REUSEPORT is set only under
 * --reuse-port, and IPv6 ("[::1]:8700") and ":PORT" (all interfaces) work.
 */
#ifndef SERVER_NET_H
#define SERVER_NET_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "app/err.h"

#define SRV_MAX_TRUSTED_PROXIES 16
#define SRV_REQUEST_ID_MAX 64
#define SRV_CLIENT_MAX 64

/* One --trusted-proxy CIDR. */
struct srv_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned bits;
};

/* Longest printable listen address, "[v6]:port". */
#define SRV_ADDR_MAX 80

/* Bind and listen on spec: "HOST:PORT", "[V6]:PORT" or ":PORT" (every interface,
 * IPv6 with IPv4 mapped when the host has IPv6). *fd is the socket; shown (when not
 * NULL, SRV_ADDR_MAX bytes) is the address as bound, with the real port when spec
 * asked for port 0. -1 with err ("cannot listen on 127.0.0.1:8700: address already
 * in use") when the address is invalid or cannot be bound. */
/* 0 when spec has the form --listen takes (nothing is resolved or bound), else -1. */
int srv_listen_check(const char *spec);
int srv_listen_open(const char *spec, int reuse_port, int *fd, char *shown, struct app_err *err);

/* Parse "10.0.0.0/8", "::1/128" or a bare address (a /32 or /128). */
int srv_cidr_parse(const char *s, struct srv_cidr *out);

/* Seed the request id prefix (once, before serving). */
void srv_request_id_init(void);
/* out (SRV_REQUEST_ID_MAX + 1 bytes): client_id (the X-Request-Id header, or NULL)
 * when it is 1-64 of [A-Za-z0-9._:-], otherwise a new id. */
void srv_request_id(const char *client_id, char *out);
/* out (SRV_CLIENT_MAX bytes): the peer address, or, when the peer is inside one of
 * the n trusted CIDRs, the nearest untrusted address in forwarded (the Forwarded
 * header's for=) or else xff (X-Forwarded-For). */
void srv_client_address(const struct sockaddr *peer, const char *forwarded, const char *xff,
                        const struct srv_cidr *trusted, size_t n, char *out);

#endif
