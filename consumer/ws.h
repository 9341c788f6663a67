/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_WS_H
#define CONSUMER_WS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A WebSocket client on libwebsockets (this module is the only lws caller).
 * One connection at a time, driven by ws_run() on the calling thread; every
 * callback below runs on that thread.
 */
struct ws_client;

struct ws_events {
	void	*arg;
	/* One complete message (reassembled, at most max_message_len bytes).
	 * Return 0 to go on, -1 to close the connection. */
	int	(*message)(void *arg, const uint8_t *data, size_t len,
		    int binary);
	/* A message exceeded max_message_len and was discarded. */
	void	(*oversized)(void *arg, size_t len);
	void	(*connected)(void *arg);
	/* The connection ended or never came up. retry_after_s > 0 when the
	 * server said when to come back (429/503 with Retry-After). */
	void	(*disconnected)(void *arg, const char *reason,
		    int retry_after_s);
	/* Called about every tick_ms while ws_run() runs. */
	void	(*tick)(void *arg);
	/* Called after a service pass when no further message is waiting:
	 * nothing buffered, the socket not readable, or reading paused
	 * (may be NULL). */
	void	(*idle)(void *arg);
	/* PEM CA bundle trusted for wss:// instead of the system one (NULL:
	 * system); borrowed for ws_new() only. Verification is always on. */
	const char	*ca_file;
};

/* Returns a new client; free with ws_free(). idle_timeout_s: a connection
 * with no traffic is pinged at half of it and dropped at it. */
struct ws_client	*ws_new(const struct ws_events *, size_t max_message_len,
			    int idle_timeout_s, char *err, size_t errlen);
void			 ws_free(struct ws_client *);
/* Starts connecting to url (ws:// or wss://, path and query included).
 * Outcome arrives through connected/disconnected. */
int			 ws_open(struct ws_client *, const char *url, char *err,
			    size_t errlen);
/* Closes the current connection (disconnected follows). */
void			 ws_close(struct ws_client *);
/* Stops (1) or resumes (0) reading the socket: TCP backpressure. */
void			 ws_pause(struct ws_client *, int paused);
int			 ws_is_open(const struct ws_client *);
/* True while a connection attempt or connection exists. */
int			 ws_is_active(const struct ws_client *);
/* Sets the tick period (ms). */
void			 ws_set_tick(struct ws_client *, int tick_ms);
/* Services the connection until ws_stop() is called. */
void			 ws_run(struct ws_client *);
void			 ws_stop(struct ws_client *);

#endif
