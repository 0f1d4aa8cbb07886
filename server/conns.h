/* server/conns.h: what almanacd adds to libmicrohttpd 0.9.75 against slow clients.
 *
 * The library gives a per-address connection limit, a total limit and an
 * inactivity timeout (all set in srv_start), but no deadline for a request head (a
 * client sending one header byte every few seconds stays forever) and no reserve for
 * new clients (a flood of half-open requests fills the total). It does tell us when a
 * connection opens and closes (MHD_OPTION_NOTIFY_CONNECTION, before it closes the
 * socket), and the access handler tells us when a head is complete. So a reaper
 * thread keeps the open connections in a list and shuts down (shutdown(2), which the
 * library sees as the client leaving) every connection whose head has taken longer
 * than SRV_HEAD_DEADLINE_S, and, when the total comes within CONNS_RESERVE of the
 * cap, the connections that have waited longest for a head. Shutdown happens under
 * the list's mutex and the close notification takes it too, so a socket number the
 * library already closed (and may have reused) is never touched.
 *
 * What remains (README, "Known limits"): a client can still hold up to
 * --max-conns-per-ip connections from each of its addresses for up to the head
 * deadline each; a slow reader of a response is bound only by the idle timeout.
 */
#ifndef SERVER_CONNS_H
#define SERVER_CONNS_H

#include <microhttpd.h>

/* Connections kept free for new clients: past max_conns minus this, the oldest
 * connections still sending their head are closed. */
#define CONNS_RESERVE 32u

struct conns;

struct conns *conns_new(unsigned max_conns, unsigned head_deadline_s);
/* Start the reaper thread; -1 when it cannot be started. */
int conns_start(struct conns *c);
/* Stop the thread and free; the daemon must be stopped first. */
void conns_free(struct conns *c);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the struct conns. */
void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);

/* The head of a request on conn is complete (first access-handler call) / the
 * request is over and the connection waits for the next head. */
void conns_head_done(struct MHD_Connection *conn);
void conns_request_done(struct MHD_Connection *conn);

#endif
