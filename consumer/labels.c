/* SPDX-License-Identifier: ISC */
/*
 * Label subscribers. Each LABELER_HOSTS entry gets a thread owning its own
 * WebSocket client, broker connection and database handle, so hosts never
 * share mutable state (only the lock-free metrics registry). The cursor
 * invariant is the live ingester's: the stored seq never passes a frame
 * whose messages the broker has not confirmed (tracker.c); a lost broker
 * closes the socket and the stream resumes from the last safe seq. Without
 * a stored cursor the labeler's whole history is replayed (cursor=0):
 * labels are few and an old !takedown must still apply.
 * Not done: label signatures are not verified (that needs the labeler's
 * #atproto_label key from its DID document); a label is trusted as coming
 * from the host in LABELER_HOSTS that served it, whose src it carries.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "labels.h"
#include "labels_frame.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "ops_http.h"
#include "settings.h"
#include "tracker.h"
#include "util.h"
#include "ws.h"
#include "xrpc.h"

#define LABELS_PATH	"/xrpc/com.atproto.label.subscribeLabels"
#define TICK_MS		20
#define SAVE_MS		1000
#define DRAIN_MS	10000

static volatile sig_atomic_t	labels_stop;

struct labels_metrics {
	struct atc_metric	*frames, *frames_dropped, *applied, *negated,
				*dropped, *connection_errors;
};

struct labels_host {
	const struct consumer_config	*cfg;
	struct labels_metrics		*m;		/* shared, atomics */
	struct atc_metric		*cursor_gauge;	/* this host's */
	char				 url[2048];	/* without cursor */
	char				 host[256];	/* cursor key, source */
	struct ws_client		*ws;
	struct atc_mq			*mq;		/* NULL while down */
	struct atc_db			*db;
	struct tracker			 tracker;
	struct labels_frame		 frame;
	struct atc_buf			 body;
	uint64_t			 last_tag, acked;
	int64_t				 saved_seq;	/* -1 none */
	int				 loaded;	/* cursor read */
	uint64_t			 next_connect_ms, next_mq_ms;
	uint64_t			 last_save_ms, drain_deadline_ms;
	uint32_t			 attempts, mq_attempts;
	int				 draining;
	pthread_t			 thread;
	int				 started;
};

void
labels_request_stop(void)
{
	labels_stop = 1;
}

int
labels_source_url(const char *entry, char *out, size_t outlen)
{
	const char	*path;
	char		 host[256];
	int		 n;

	if (strncmp(entry, "ws://", 5) == 0 || strncmp(entry, "wss://", 6) == 0) {
		if (atc_xrpc_url_host(entry, host, sizeof(host)) == -1)
			return -1;
		path = strstr(entry, "://") + 3;
		path += strcspn(path, "/?#");
		if (*path == '\0' || strcmp(path, "/") == 0)
			n = snprintf(out, outlen, "%.*s%s", (int)(path - entry),
			    entry, LABELS_PATH);
		else
			n = snprintf(out, outlen, "%s", entry);
	} else {
		if (entry[0] == '\0' || strpbrk(entry, "/?#") != NULL ||
		    strlen(entry) >= sizeof(host))
			return -1;
		n = snprintf(out, outlen, "wss://%s%s", entry, LABELS_PATH);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static uint64_t
backoff_ms(uint32_t attempts)
{
	uint64_t	d = attempts >= 8 ? 60000 : 500ULL << attempts;

	if (d > 60000)
		d = 60000;
	return d / 2 + (uint64_t)random() % (d / 2 + 1);
}

static void
mq_lost(struct labels_host *h, const char *cause)
{
	char	q[300];

	atc_log_warn("broker_lost", "host=%s cause=%s", h->host,
	    atc_log_quote(q, sizeof(q), cause));
	atc_mq_free(h->mq);
	h->mq = NULL;
	h->last_tag = h->acked = 0;
	tracker_reset(&h->tracker);
	h->next_mq_ms = atc_mono_ms() + backoff_ms(h->mq_attempts++);
	ws_close(h->ws);
}

static void
mq_open(struct labels_host *h)
{
	char	err[ATC_ERRLEN], q[300];

	h->mq = atc_mq_connect(h->cfg->rabbitmq_url, "atcal-labels", err,
	    sizeof(err));
	if (h->mq == NULL ||
	    atc_mq_declare_topology(h->mq, err, sizeof(err)) == -1 ||
	    atc_mq_confirm_select(h->mq, err, sizeof(err)) == -1) {
		atc_log_warn("broker_connect_failed", "host=%s cause=%s",
		    h->host, atc_log_quote(q, sizeof(q), err));
		atc_mq_free(h->mq);
		h->mq = NULL;
		h->next_mq_ms = atc_mono_ms() + backoff_ms(h->mq_attempts++);
		return;
	}
	h->mq_attempts = 0;
	h->last_tag = h->acked = 0;
}

/* Reads the stored cursor once. -1: database down, try again later. */
static int
cursor_load(struct labels_host *h)
{
	const char	*params[1] = { h->host };
	char		 value[32], err[ATC_ERRLEN], q[300];
	int		 found = 0;
	int64_t		 seq = 0;

	if (atc_db_query_value(h->db, "SELECT seq FROM label_cursors WHERE "
	    "host = $1", 1, params, value, sizeof(value), &found, err,
	    sizeof(err)) == -1) {
		atc_log_warn("cursor_load_failed", "host=%s cause=%s", h->host,
		    atc_log_quote(q, sizeof(q), err));
		return -1;
	}
	if (found)
		seq = strtoll(value, NULL, 10);
	tracker_init(&h->tracker, seq);
	h->saved_seq = found ? seq : -1;
	h->loaded = 1;
	atc_log_info("cursor_loaded", "host=%s stored=%s cursor=%" PRId64,
	    h->host, found ? "true" : "false", seq);
	return 0;
}

static void
cursor_save(struct labels_host *h)
{
	char		 value[32], err[ATC_ERRLEN], q[300];
	const char	*params[2] = { h->host, value };

	h->last_save_ms = atc_mono_ms();
	if (!h->loaded || h->tracker.safe_seq < 0 ||
	    h->tracker.safe_seq == h->saved_seq)
		return;
	(void)snprintf(value, sizeof(value), "%" PRId64, h->tracker.safe_seq);
	if (atc_db_exec(h->db, "INSERT INTO label_cursors (host, seq) VALUES "
	    "($1, $2) ON CONFLICT (host) DO UPDATE SET seq = EXCLUDED.seq, "
	    "updated_at = now()", 2, params, err, sizeof(err)) == -1) {
		atc_log_warn("cursor_save_failed", "host=%s seq=%" PRId64
		    " cause=%s", h->host, h->tracker.safe_seq,
		    atc_log_quote(q, sizeof(q), err));
		return;
	}
	h->saved_seq = h->tracker.safe_seq;
	atc_metric_set(h->cursor_gauge, (double)h->saved_seq);
}

static void
source_open(struct labels_host *h)
{
	struct atc_buf	url;
	char		err[ATC_ERRLEN], q[300];

	atc_buf_init(&url, 256);
	atc_buf_puts(&url, h->url);
	atc_buf_appendf(&url, "%scursor=%" PRId64, strchr(h->url, '?') ?
	    "&" : "?", h->tracker.safe_seq);
	atc_log_info("labels_connecting", "host=%s cursor=%" PRId64
	    " attempt=%u", h->host, h->tracker.safe_seq, h->attempts + 1);
	if (ws_open(h->ws, atc_buf_cstr(&url), err, sizeof(err)) == -1) {
		atc_log_warn("labels_connect_failed", "host=%s cause=%s",
		    h->host, atc_log_quote(q, sizeof(q), err));
		h->next_connect_ms = atc_mono_ms() + backoff_ms(h->attempts++);
	}
	atc_buf_cleanup(&url);
}

/* Publishes the valid labels of the current #labels frame. -1: broker. */
static int
publish_labels(struct labels_host *h)
{
	const struct labels_label	*l;
	char				 err[ATC_ERRLEN], q[300], mid[1024];
	uint64_t			 tag;
	size_t				 i;

	for (i = 0; i < h->frame.nlabels; i++) {
		l = &h->frame.labels[i];
		if (l->error != NULL) {
			atc_metric_inc(h->m->dropped);
			atc_log_warn("label_dropped", "host=%s seq=%" PRId64
			    " uri=%s cause=%s", h->host, h->frame.seq,
			    l->uri != NULL ? l->uri : "?",
			    atc_log_quote(q, sizeof(q), l->error));
			continue;
		}
		atc_buf_reset(&h->body);
		labels_frame_json(&h->body, l, h->frame.seq, h->host);
		(void)snprintf(mid, sizeof(mid), "label:%s:%s:%s:%s:%s",
		    l->src, l->uri, l->val, l->neg ? "neg" : "apply", l->cts);
		if (atc_mq_publish(h->mq, ATC_MQ_EXCHANGE,
		    labels_frame_routing_key(l), h->body.data, h->body.len, mid,
		    NULL, 0, &tag, err, sizeof(err)) == -1) {
			mq_lost(h, err);
			return -1;
		}
		h->last_tag = tag;
		atc_metric_inc(l->neg ? h->m->negated : h->m->applied);
		atc_log_debug("label_published", "host=%s seq=%" PRId64
		    " uri=%s val=%s neg=%d", h->host, h->frame.seq, l->uri,
		    l->val, l->neg);
	}
	return 0;
}

static int
on_message(void *arg, const uint8_t *data, size_t len, int binary)
{
	struct labels_host	*h = arg;
	char			 err[ATC_ERRLEN], q[300], q2[300];

	if (h->draining)
		return 0;
	if (!binary) {
		atc_log_warn("labels_protocol_error", "host=%s cause=\"text "
		    "frame on a binary stream\"", h->host);
		return -1;
	}
	if (h->mq == NULL)
		return -1;
	atc_metric_inc(h->m->frames);
	if (labels_frame_decode(&h->frame, data, len, err,
	    sizeof(err)) == -1) {
		atc_metric_inc(h->m->frames_dropped);
		atc_log_warn("frame_dropped", "host=%s len=%zu cause=%s",
		    h->host, len, atc_log_quote(q, sizeof(q), err));
		return 0;
	}
	switch (h->frame.kind) {
	case LABELS_FRAME_LABELS:
		h->attempts = 0;
		if (publish_labels(h) == -1)
			return -1;
		tracker_frame_done(&h->tracker, h->frame.seq, h->last_tag);
		break;
	case LABELS_FRAME_ERROR:
		atc_log_err("labels_error_frame", "host=%s error=%s "
		    "message=%s", h->host,
		    atc_log_quote(q, sizeof(q), h->frame.name),
		    atc_log_quote(q2, sizeof(q2), h->frame.message));
		h->next_connect_ms = atc_mono_ms() + backoff_ms(h->attempts++);
		return -1;
	case LABELS_FRAME_INFO:
		atc_log_warn("labels_info", "host=%s name=%s message=%s",
		    h->host, atc_log_quote(q, sizeof(q), h->frame.name),
		    atc_log_quote(q2, sizeof(q2), h->frame.message));
		break;
	default:
		break;
	}
	return 0;
}

static void
on_oversized(void *arg, size_t len)
{
	struct labels_host	*h = arg;

	atc_metric_inc(h->m->frames_dropped);
	atc_log_warn("frame_dropped", "host=%s len=%zu cause=\"frame too "
	    "large\"", h->host, len);
}

static void
on_connected(void *arg)
{
	struct labels_host	*h = arg;

	atc_log_info("labels_connected", "host=%s cursor=%" PRId64, h->host,
	    h->tracker.safe_seq);
}

static void
on_disconnected(void *arg, const char *reason, int retry_after_s)
{
	struct labels_host	*h = arg;
	uint64_t		 delay;
	char			 q[300];

	atc_metric_inc(h->m->connection_errors);
	delay = backoff_ms(h->attempts++);
	if (retry_after_s > 0 && (uint64_t)retry_after_s * 1000 > delay)
		delay = (uint64_t)retry_after_s * 1000;
	if (h->next_connect_ms < atc_mono_ms() + delay)
		h->next_connect_ms = atc_mono_ms() + delay;
	/* Whatever was read but not confirmed is read again. */
	tracker_reset(&h->tracker);
	if (!h->draining)
		atc_log_warn("labels_disconnected", "host=%s cause=%s "
		    "retry_in_ms=%" PRIu64, h->host,
		    atc_log_quote(q, sizeof(q), reason), delay);
}

static void
on_tick(void *arg)
{
	struct labels_host	*h = arg;
	char			 err[ATC_ERRLEN];
	bool			 nacked = false;
	uint64_t		 now = atc_mono_ms();

	if (labels_stop && !h->draining) {
		h->draining = 1;
		h->drain_deadline_ms = now + DRAIN_MS;
		ws_pause(h->ws, 1);
	}
	if (h->mq != NULL) {
		if (atc_mq_confirm_poll(h->mq, 0, &h->acked, &nacked, err,
		    sizeof(err)) == -1)
			mq_lost(h, err);
		else if (nacked)
			mq_lost(h, "broker nacked a message");
		else if (h->loaded)
			(void)tracker_confirmed(&h->tracker, h->acked);
	}
	if (h->draining) {
		if (h->mq == NULL || h->acked >= h->last_tag ||
		    now >= h->drain_deadline_ms) {
			cursor_save(h);
			ws_close(h->ws);
			ws_stop(h->ws);
		}
		return;
	}
	if (!h->loaded && cursor_load(h) == -1) {
		h->next_connect_ms = now + 1000;
		return;
	}
	if (h->mq == NULL && now >= h->next_mq_ms)
		mq_open(h);
	if (h->mq != NULL && !ws_is_active(h->ws) && now >= h->next_connect_ms)
		source_open(h);
	if (now - h->last_save_ms >= SAVE_MS)
		cursor_save(h);
}

static void *
host_thread(void *arg)
{
	struct labels_host	*h = arg;

	ws_run(h->ws);
	atc_log_info("labels_stopped", "host=%s cursor=%" PRId64, h->host,
	    h->saved_seq);
	return NULL;
}

static bool
labels_ready(void *arg, char *why, size_t whylen)
{
	(void)arg;
	(void)why;
	(void)whylen;
	return true;
}

static void
host_free(struct labels_host *h)
{
	ws_free(h->ws);
	atc_mq_free(h->mq);
	atc_db_free(h->db);
	if (h->loaded)
		tracker_cleanup(&h->tracker);
	labels_frame_cleanup(&h->frame);
	atc_buf_cleanup(&h->body);
}

int
labels_run(const struct consumer_config *cfg, struct atc_metrics *metrics)
{
	struct labels_metrics	 m;
	struct labels_host	*hosts = NULL;
	struct atc_metrics	*own = NULL;
	struct atc_ops_http	*ops = NULL;
	struct ws_events	 ev;
	char			**list = NULL, err[ATC_ERRLEN], lbl[300];
	size_t			 n = 0, i;
	int			 ret = -1;

	if (cfg->labeler_hosts == NULL ||
	    (list = atc_config_list(cfg->labeler_hosts, &n)) == NULL ||
	    n == 0) {
		atc_log_err("startup_failed", "cause=\"LABELER_HOSTS is "
		    "empty\"");
		goto out;
	}
	if (metrics == NULL) {
		metrics = own = atc_metrics_new(256, false);
		if (cfg->metrics_listen != NULL &&
		    strcmp(cfg->metrics_listen, "off") != 0 &&
		    (ops = atc_ops_http_start(cfg->metrics_listen, own,
		    cfg->metrics_token, labels_ready, NULL, err,
		    sizeof(err))) == NULL)
			atc_log_err("metrics_unavailable", "cause=\"%s\"", err);
	}
	m.frames = atc_metrics_counter(metrics, "atcal_labels_frames_total",
	    "subscribeLabels frames received", NULL);
	m.frames_dropped = atc_metrics_counter(metrics,
	    "atcal_labels_frames_dropped_total",
	    "subscribeLabels frames that did not decode", NULL);
	m.applied = atc_metrics_counter(metrics, "atcal_labels_total",
	    "labels published", "kind=\"apply\"");
	m.negated = atc_metrics_counter(metrics, "atcal_labels_total",
	    "labels published", "kind=\"negate\"");
	m.dropped = atc_metrics_counter(metrics, "atcal_labels_dropped_total",
	    "labels breaking the lexicon, not published", NULL);
	m.connection_errors = atc_metrics_counter(metrics,
	    "atcal_labels_connection_errors_total",
	    "labeler connections lost or refused", NULL);
	hosts = atc_xcalloc(n, sizeof(*hosts));
	memset(&ev, 0, sizeof(ev));
	ev.message = on_message;
	ev.oversized = on_oversized;
	ev.connected = on_connected;
	ev.disconnected = on_disconnected;
	ev.tick = on_tick;
	ev.ca_file = cfg->source_ca_file;
	for (i = 0; i < n; i++) {
		struct labels_host *h = &hosts[i];

		h->cfg = cfg;
		h->m = &m;
		h->saved_seq = -1;
		labels_frame_init(&h->frame);
		atc_buf_init(&h->body, 1024);
		if (labels_source_url(list[i], h->url, sizeof(h->url)) == -1 ||
		    atc_xrpc_url_host(h->url, h->host, sizeof(h->host)) == -1) {
			atc_log_err("startup_failed", "cause=\"bad LABELER_HOSTS "
			    "entry\" entry=%s", atc_log_quote(lbl, sizeof(lbl),
			    list[i]));
			goto out;
		}
		(void)snprintf(lbl, sizeof(lbl), "host=\"%s\"", h->host);
		h->cursor_gauge = atc_metrics_gauge(metrics,
		    "atcal_labels_cursor", "last stored labeler seq", lbl);
		h->db = atc_db_new(cfg->database_url);
		ev.arg = h;
		if ((h->ws = ws_new(&ev, LABELS_MAXFRAME, 60, err,
		    sizeof(err))) == NULL) {
			atc_log_err("startup_failed", "cause=\"%s\"", err);
			goto out;
		}
		ws_set_tick(h->ws, TICK_MS);
		h->last_save_ms = atc_mono_ms();
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&hosts[i].thread, NULL, host_thread,
		    &hosts[i]) != 0) {
			atc_log_err("startup_failed", "cause=\"pthread_create\"");
			labels_request_stop();
			break;
		}
		hosts[i].started = 1;
	}
	for (i = 0; i < n; i++)
		if (hosts[i].started)
			pthread_join(hosts[i].thread, NULL);
	ret = 0;
out:
	for (i = 0; hosts != NULL && i < n; i++)
		host_free(&hosts[i]);
	free(hosts);
	atc_config_list_free(list);
	atc_ops_http_free(ops);
	atc_metrics_free(own);
	return ret;
}

static void
on_signal(int sig)
{
	(void)sig;
	labels_request_stop();
}

int
labels_main(int argc, char **argv)
{
	struct consumer_config	cfg;
	struct sigaction	sa;
	enum atc_log_level	level = ATC_LOG_INFO;
	int			rc;

	if (argc > 1) {
		fprintf(stderr, "usage: consumer labels   (settings from the "
		    "environment: LABELER_HOSTS, RABBITMQ_URL, DATABASE_URL)\n");
		return 2;
	}
	(void)argv;
	if (settings_load(&cfg) == -1)
		return 1;
	(void)atc_log_level_parse(cfg.log_level, &level);
	atc_log_init("consumer", level);
	settings_log(&cfg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	srandom((unsigned)atc_wall_us());
	rc = labels_run(&cfg, NULL) == 0 ? 0 : 1;
	settings_free(&cfg);
	return rc;
}
