/* SPDX-License-Identifier: ISC */
/*
 * libwebsockets client. lws has no message-size cap, so fragments are
 * reassembled here into one buffer bounded by max_message_len; an oversized
 * message is discarded whole and reported. Reading pauses with
 * lws_rx_flow_control (TCP backpressure to the server). A sorted-usec timer
 * drives the caller's tick, so the caller's periodic work (broker confirms,
 * cursor saving, reconnect scheduling) runs on the same thread as the
 * socket.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <openssl/x509.h>

#include "buf.h"
#include "util.h"
#include "ws.h"

struct ws_client {
	struct lws_context	*ctx;		/* owned */
	struct lws		*wsi;		/* current connection or NULL */
	struct ws_events	 ev;
	struct atc_buf		 msg;		/* reassembly buffer */
	size_t			 max_len;
	size_t			 dropped_len;	/* oversized message length */
	int			 oversized;
	int			 binary;
	int			 paused;
	int			 stopping;
	int			 tick_ms;
	int			 established;
	int			 active;	/* an attempt or connection exists */
	int			 retry_after_s;
	char			 cert_error[160]; /* why the wss certificate
						   * was refused; "" if not */
	lws_sorted_usec_list_t	 tick_sul;
	lws_retry_bo_t		 retry;
	char			 url[2048];	/* lws_parse_uri scratch */
};

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ws_client	*c = lws_context_user(lws_get_context(wsi));
	char			 hdr[32];
	const char		*why;
	int			 first, final;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		/* Upgrade refused: remember Retry-After for the backoff. */
		c->retry_after_s = 0;
		if (lws_hdr_copy(wsi, hdr, sizeof(hdr),
		    WSI_TOKEN_HTTP_RETRY_AFTER) > 0)
			c->retry_after_s = atoi(hdr);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->established = 1;
		atc_buf_reset(&c->msg);
		c->oversized = 0;
		if (c->paused)
			lws_rx_flow_control(wsi, 0);
		if (c->ev.connected != NULL)
			c->ev.connected(c->ev.arg);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		first = lws_is_first_fragment(wsi);
		final = lws_is_final_fragment(wsi);
		if (first) {
			atc_buf_reset(&c->msg);
			c->oversized = 0;
			c->dropped_len = 0;
			c->binary = lws_frame_is_binary(wsi);
		}
		if (!c->oversized && c->msg.len + len > c->max_len) {
			c->oversized = 1;
			c->dropped_len = c->msg.len;
			atc_buf_reset(&c->msg);
		}
		if (c->oversized)
			c->dropped_len += len;
		else
			atc_buf_append(&c->msg, in, len);
		if (!final || lws_remaining_packet_payload(wsi) > 0)
			break;
		if (c->oversized) {
			c->oversized = 0;
			if (c->ev.oversized != NULL)
				c->ev.oversized(c->ev.arg, c->dropped_len);
			break;
		}
		if (c->ev.message(c->ev.arg, c->msg.data, c->msg.len,
		    c->binary) == -1)
			return -1;
		/* Keep the capacity but not a huge one-off allocation. */
		if (c->msg.cap > 4 * 1024 * 1024)
			atc_buf_cleanup(&c->msg);
		else
			atc_buf_reset(&c->msg);
		break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* Only remember why OpenSSL refused the certificate (len is
		 * preverify_ok); its decision always stands. */
		if (len == 0 && user != NULL && c->cert_error[0] == '\0')
			(void)snprintf(c->cert_error, sizeof(c->cert_error),
			    "certificate verify failed: %s",
			    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(user)));
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!c->active)
			break;
		c->active = 0;
		why = reason == LWS_CALLBACK_CLIENT_CLOSED ? "closed" :
		    c->cert_error[0] != '\0' ? c->cert_error :
		    (in != NULL ? (const char *)in : "connection error");
		c->wsi = NULL;
		c->established = 0;
		if (c->ev.disconnected != NULL)
			c->ev.disconnected(c->ev.arg, why, c->retry_after_s);
		c->retry_after_s = 0;
		c->cert_error[0] = '\0';
		break;
	default:
		break;
	}
	(void)user;
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "atcal-client", ws_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void
tick_cb(lws_sorted_usec_list_t *sul)
{
	struct ws_client	*c = lws_container_of(sul, struct ws_client,
				    tick_sul);

	if (c->ev.tick != NULL)
		c->ev.tick(c->ev.arg);
	if (!c->stopping)
		lws_sul_schedule(c->ctx, 0, &c->tick_sul, tick_cb,
		    (lws_usec_t)c->tick_ms * LWS_US_PER_MS);
}

struct ws_client *
ws_new(const struct ws_events *ev, size_t max_message_len, int idle_timeout_s,
    char *err, size_t errlen)
{
	struct lws_context_creation_info	 info;
	struct ws_client			*c;

	c = atc_xcalloc(1, sizeof(*c));
	c->ev = *ev;
	c->max_len = max_message_len;
	c->tick_ms = 50;
	atc_buf_init(&c->msg, 64 * 1024);
	c->retry.secs_since_valid_ping = (uint16_t)(idle_timeout_s / 2 > 0 ?
	    idle_timeout_s / 2 : 1);
	c->retry.secs_since_valid_hangup = (uint16_t)idle_timeout_s;

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* wss certificates are verified against this bundle, or the
	 * system's; ws_open() never relaxes the check. */
	info.client_ssl_ca_filepath = ev->ca_file;
	info.user = c;
	info.retry_and_idle_policy = &c->retry;
	if ((c->ctx = lws_create_context(&info)) == NULL) {
		atc_seterr(err, errlen, "ws: cannot create lws context");
		ws_free(c);
		return NULL;
	}
	return c;
}

void
ws_free(struct ws_client *c)
{
	if (c == NULL)
		return;
	if (c->ctx != NULL)
		lws_context_destroy(c->ctx);
	atc_buf_cleanup(&c->msg);
	free(c);
}

int
ws_open(struct ws_client *c, const char *url, char *err, size_t errlen)
{
	struct lws_client_connect_info	 cc;
	const char			*prot, *addr, *path;
	char				 fullpath[2048];
	int				 port;

	if (c->active)
		return atc_seterr(err, errlen, "ws: already connected");
	if (strlen(url) >= sizeof(c->url))
		return atc_seterr(err, errlen, "ws: URL too long");
	memcpy(c->url, url, strlen(url) + 1);
	if (lws_parse_uri(c->url, &prot, &addr, &port, &path) != 0)
		return atc_seterr(err, errlen, "ws: cannot parse URL");
	(void)snprintf(fullpath, sizeof(fullpath), "/%s", path);

	memset(&cc, 0, sizeof(cc));
	cc.context = c->ctx;
	cc.address = addr;
	cc.port = port;
	cc.path = fullpath;
	cc.host = addr;
	cc.origin = addr;
	cc.local_protocol_name = protocols[0].name;
	cc.retry_and_idle_policy = &c->retry;
	if (strcmp(prot, "wss") == 0)
		cc.ssl_connection = LCCSCF_USE_SSL;
	else if (strcmp(prot, "ws") != 0)
		return atc_seterr(err, errlen, "ws: scheme must be ws or wss");
	c->established = 0;
	c->active = 1;
	c->wsi = lws_client_connect_via_info(&cc);
	if (c->wsi == NULL && c->active) {
		c->active = 0;
		return atc_seterr(err, errlen, "ws: cannot start connection "
		    "to %s:%d", addr, port);
	}
	/* A failure reported synchronously already went to disconnected. */
	return 0;
}

void
ws_close(struct ws_client *c)
{
	if (!c->active || c->wsi == NULL)
		return;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK,
	    LWS_TO_KILL_ASYNC);
}

void
ws_pause(struct ws_client *c, int paused)
{
	if (c->paused == paused)
		return;
	c->paused = paused;
	if (c->wsi != NULL && c->established)
		lws_rx_flow_control(c->wsi, paused ? 0 : 1);
}

int
ws_is_open(const struct ws_client *c)
{
	return c->active && c->established;
}

int
ws_is_active(const struct ws_client *c)
{
	return c->active;
}

void
ws_set_tick(struct ws_client *c, int tick_ms)
{
	if (tick_ms < 1)
		tick_ms = 1;
	if (tick_ms == c->tick_ms)
		return;
	c->tick_ms = tick_ms;
	lws_sul_schedule(c->ctx, 0, &c->tick_sul, tick_cb,
	    (lws_usec_t)c->tick_ms * LWS_US_PER_MS);
}

/* Whether another message may be handled without waiting: lws holds
 * buffered input (decrypted TLS, a partly parsed read) or the socket is
 * readable. A paused or closed connection has nothing to hand over. */
static int
more_waiting(struct ws_client *c)
{
	struct pollfd	pfd;

	if (c->wsi == NULL || !c->established || c->paused)
		return 0;
	if (lws_service_adjust_timeout(c->ctx, 1, 0) == 0)
		return 1;
	pfd.fd = lws_get_socket_fd(c->wsi);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0 &&
	    (pfd.revents & POLLIN) != 0;
}

void
ws_run(struct ws_client *c)
{
	c->stopping = 0;
	lws_sul_schedule(c->ctx, 0, &c->tick_sul, tick_cb,
	    (lws_usec_t)c->tick_ms * LWS_US_PER_MS);
	while (!c->stopping) {
		if (lws_service(c->ctx, 0) < 0)
			break;
		if (c->ev.idle != NULL && !c->stopping && !more_waiting(c))
			c->ev.idle(c->ev.arg);
	}
}

void
ws_stop(struct ws_client *c)
{
	c->stopping = 1;
	lws_cancel_service(c->ctx);
}
