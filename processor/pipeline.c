/* SPDX-License-Identifier: ISC */
/*
 * The processor's loop: one thread multiplexes the consuming RabbitMQ
 * connection and the curl multi handle. Deliveries wait in a local FIFO
 * (bounded by the prefetch window) and leave it as API calls, up to
 * CONCURRENCY at once: one batch call for up to BATCH_SIZE messages, sent
 * when that many wait, the window is full, or the oldest has waited
 * BATCH_LINGER_MS; or a single call per message (BATCH_SIZE=1, or a message
 * whose batch the API refused as a whole). Identity messages of known
 * DIDs wait for their DID document on the resolver's thread (resolver.c)
 * without holding up the loop; they stay inside the prefetch window. Fates
 * go through settle.c: nothing is acked before it is durable, and anything
 * else stays unacked and comes back after a reconnect.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "buf.h"
#include "call.h"
#include "didres.h"
#include "fetch_event.h"
#include "job.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "mq.h"
#include "pipeline.h"
#include "resolver.h"
#include "settings.h"
#include "settle.h"
#include "telemetry.h"
#include "util.h"

#define POLL_MS		200
#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	10000
#define DRAIN_MAX_MS	30000
#define DLQ_CHECK_MS	10000

struct pipeline {
	const struct settings	*cfg;
	volatile sig_atomic_t	*stop;
	struct api_client	*api;		/* owned, across sessions */
	struct atc_mq		*cons;		/* owned per session */
	struct atc_mq		*pub;		/* owned per session */
	struct settle		 settle;	/* per session */
	struct job_fifo		 pending;	/* mapped, waiting for a call */
	struct job_fifo		 resolving;	/* waiting for a DID document */
	size_t			 nflight;	/* messages in calls */
	struct processor_metrics *m;		/* borrowed */
	struct resolver		*resolver;	/* owned: identity events */
	struct fetch_event	*fetch;		/* owned: RSVPs' unknown events */
	struct call_ctx		 ctx;		/* for call_settle() */
	struct atc_mq		*probe;		/* DLQ depth, or NULL */
	uint64_t		 next_dlq_ms;
};

static void
call_free_cb(void *udata, void *arg)
{
	call_free(udata);
}

/* Takes ownership of a delivery: maps it and queues it, or parks an
 * invalid message at once. -1 only on a RabbitMQ failure. */
static int
intake(struct pipeline *p, struct atc_mq_msg *m, char *err, size_t errlen)
{
	struct job	*j;
	char		 reason[ATC_ERRLEN];
	struct atc_buf	 rid;

	j = job_new(m);
	if (map_message(&j->call, j->msg.body, j->msg.len, reason,
	    sizeof(reason)) == -1) {
		ptelemetry_error(p->m, j->call.kind, j->call.op, "invalid");
		return settle_park(&p->settle, j, 0, NULL, reason, err,
		    errlen);
	}
	atc_buf_init(&rid, 128);
	if (j->msg.message_id != NULL)
		atc_buf_puts(&rid, j->msg.message_id);
	else
		atc_buf_appendf(&rid, "%s#%s", j->call.uri, j->call.rev);
	j->request_id = atc_buf_release(&rid);
	job_fifo_push(&p->pending, j);
	return 0;
}

static bool
window_open(const struct pipeline *p)
{
	return p->pending.n + p->resolving.n + p->nflight +
	    p->settle.unconfirmed.n < (size_t)p->cfg->prefetch;
}

static int
settle_call(struct pipeline *p, struct call *c, const struct api_result *r,
    char *err, size_t errlen)
{
	p->nflight -= c->njobs;
	return call_settle(c, r, &p->ctx, err, errlen);
}

/* Starts calls while slots are free. A batch leaves when it is full, the
 * window is full, or its oldest job has lingered long enough; *wake_ms is
 * set to when a lingering batch becomes due (0 = none lingers). */
static int
dispatch(struct pipeline *p, uint64_t *wake_ms, char *err, size_t errlen)
{
	struct api_request	 req;
	struct api_result	 r;
	struct call		*c;
	uint64_t		 due;
	struct job		*head;

	*wake_ms = 0;
	while ((head = p->pending.head) != NULL &&
	    api_client_inflight(p->api) < (size_t)p->cfg->concurrency) {
		if (p->cfg->batch_size > 1 && !head->single &&
		    p->pending.n < (size_t)p->cfg->batch_size &&
		    window_open(p)) {
			due = head->queued_ms +
			    (uint64_t)p->cfg->batch_linger_ms;
			if (atc_mono_ms() < due) {
				*wake_ms = due;
				break;
			}
		}
		c = call_take(&p->pending, (size_t)p->cfg->batch_size);
		p->nflight += c->njobs;
		call_request(c, &req);
		memset(&r, 0, sizeof(r));
		if (api_client_start(p->api, &req, r.error,
		    sizeof(r.error)) == -1) {
			/* Local failure (no memory for a handle): as if no
			 * answer came, so the messages retry. */
			r.retry_after_s = -1;
			if (settle_call(p, c, &r, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

static int
session_open(struct pipeline *p, char *err, size_t errlen)
{
	p->cons = atc_mq_connect(p->cfg->rabbitmq_url, "atcal-processor",
	    err, errlen);
	if (p->cons == NULL)
		return -1;
	if (atc_mq_declare_topology(p->cons, err, errlen) == -1 ||
	    atc_mq_qos(p->cons, (unsigned int)p->cfg->prefetch, err,
	    errlen) == -1 ||
	    atc_mq_consume_start(p->cons, ATC_MQ_QUEUE, err, errlen) == -1)
		return -1;
	p->pub = atc_mq_connect(p->cfg->rabbitmq_url,
	    "atcal-processor-publish", err, errlen);
	if (p->pub == NULL || atc_mq_confirm_select(p->pub, err, errlen) == -1)
		return -1;
	settle_init(&p->settle, p->cons, p->pub, p->m);
	p->settle.fetch = p->fetch;
	return 0;
}

static void
session_close(struct pipeline *p)
{
	/* Unacked deliveries return to the queue when the channel closes. */
	api_client_abort_all(p->api, call_free_cb, NULL);
	settle_abandon(&p->settle);
	job_fifo_clear(&p->pending);
	/* Their results, when they come, find no job and are dropped. */
	job_fifo_clear(&p->resolving);
	p->nflight = 0;
	atc_mq_free(p->cons);
	atc_mq_free(p->pub);
	p->cons = p->pub = NULL;
	atc_metric_set(p->m->queue_connected, 0);
}

/* DLQ depth on a connection of its own (an RPC on the consuming or the
 * confirming channel would interleave with their traffic). */
static void
check_dlq(struct pipeline *p)
{
	char		err[ATC_ERRLEN];
	long long	n;

	if (atc_mono_ms() < p->next_dlq_ms)
		return;
	p->next_dlq_ms = atc_mono_ms() + DLQ_CHECK_MS;
	if (p->probe == NULL && (p->probe = atc_mq_connect(
	    p->cfg->rabbitmq_url, "atcal-processor-probe", err,
	    sizeof(err))) == NULL)
		return;
	if ((n = atc_mq_queue_depth(p->probe, ATC_MQ_DLQ, err,
	    sizeof(err))) == -1) {
		atc_mq_free(p->probe);
		p->probe = NULL;
	}
	atc_metric_set(p->m->dlq_depth, (double)n);
}

/* Collects finished DID resolutions: each job goes back to pending. */
static int
collect_resolved(struct pipeline *p, char *err, size_t errlen)
{
	struct resolver_result	rr;

	while (resolver_next(p->resolver, &rr) == 1)
		if (call_resolved(&p->ctx, &rr, err, errlen) == -1)
			return -1;
	return 0;
}

/* How long the loop may sleep: until a lingering batch is due, at most
 * POLL_MS; 0 when a delivery is already buffered. */
static int
poll_timeout(const struct pipeline *p, bool want, uint64_t wake_ms)
{
	uint64_t	now = atc_mono_ms();

	if (want && atc_mq_consume_buffered(p->cons))
		return 0;
	if (wake_ms != 0)
		return wake_ms <= now ? 0 : wake_ms - now < POLL_MS ?
		    (int)(wake_ms - now) : POLL_MS;
	return POLL_MS;
}

/* One connected session. Returns 0 after a clean stop, -1 with err when
 * RabbitMQ failed (the caller reconnects). */
static int
session_run(struct pipeline *p, bool *connected, char *err, size_t errlen)
{
	struct atc_mq_msg	 m;
	struct api_result	 r;
	uint64_t		 drain_deadline = 0, last_service = 0, now;
	uint64_t		 acked, wake_ms = 0;
	bool			 draining = false, nacked, want;
	int			 rc, fds[2];

	*connected = false;
	if (session_open(p, err, errlen) == -1)
		return -1;
	*connected = true;
	atc_metric_set(p->m->queue_connected, 1);
	atc_log_info("mq_connected", "queue=%s prefetch=%lld concurrency=%lld "
	    "batch_size=%lld batch_linger_ms=%lld", ATC_MQ_QUEUE,
	    p->cfg->prefetch, p->cfg->concurrency, p->cfg->batch_size,
	    p->cfg->batch_linger_ms);
	for (;;) {
		now = atc_mono_ms();
		if (*p->stop && !draining) {
			draining = true;
			drain_deadline = now + (uint64_t)(p->cfg->api_timeout_ms +
			    1000 < DRAIN_MAX_MS ? p->cfg->api_timeout_ms + 1000 :
			    DRAIN_MAX_MS);
			atc_log_info("shutdown_draining", "inflight=%zu "
			    "messages_inflight=%zu pending=%zu resolving=%zu",
			    api_client_inflight(p->api), p->nflight,
			    p->pending.n, p->resolving.n);
		}
		if (draining && (api_client_inflight(p->api) == 0 ||
		    now >= drain_deadline))
			break;
		want = !draining && window_open(p);
		while (want) {
			rc = atc_mq_consume_next(p->cons, 0, &m, err, errlen);
			if (rc == -1)
				return -1;
			if (rc == 0)
				break;
			if (intake(p, &m, err, errlen) == -1)
				return -1;
			want = window_open(p);
		}
		wake_ms = 0;
		if (!draining && dispatch(p, &wake_ms, err, errlen) == -1)
			return -1;
		if (settle_flush(&p->settle, err, errlen) == -1)
			return -1;
		fds[0] = want ? atc_mq_fd(p->cons) : -1;
		fds[1] = resolver_fd(p->resolver);
		if (api_client_poll(p->api, fds, ATC_NELEM(fds),
		    poll_timeout(p, want, wake_ms), err, errlen) == -1)
			return -1;
		while (api_client_next(p->api, &r) == 1) {
			rc = settle_call(p, r.udata, &r, err, errlen);
			free(r.body);
			if (rc == -1)
				return -1;
		}
		if (collect_resolved(p, err, errlen) == -1)
			return -1;
		if (settle_flush(&p->settle, err, errlen) == -1)
			return -1;
		atc_metric_set(p->m->inflight,
		    (double)api_client_inflight(p->api));
		atc_metric_set(p->m->pending, (double)p->pending.n);
		atc_metric_set(p->m->resolving, (double)p->resolving.n);
		check_dlq(p);
		/* Keep the idle publishing connection's heartbeats going. */
		if (atc_mono_ms() - last_service >= 1000) {
			last_service = atc_mono_ms();
			if (atc_mq_confirm_poll(p->pub, 0, &acked, &nacked,
			    err, errlen) == -1)
				return -1;
		}
	}
	if (api_client_inflight(p->api) > 0)
		atc_log_warn("shutdown_abandoned", "inflight=%zu messages=%zu "
		    "cause=%s", api_client_inflight(p->api), p->nflight,
		    "\"drain deadline passed; messages stay unacked and are "
		    "redelivered\"");
	if (p->resolving.n > 0)
		atc_log_info("shutdown_abandoned", "resolving=%zu cause=%s",
		    p->resolving.n, "\"DID resolutions unfinished; messages "
		    "stay unacked and are redelivered\"");
	return 0;
}

static void
backoff_sleep(volatile sig_atomic_t *stop, int ms)
{
	uint64_t	end = atc_mono_ms() + (uint64_t)ms;

	while (!*stop && atc_mono_ms() < end)
		(void)poll(NULL, 0, 100);
}

int
pipeline_run(const struct settings *cfg, struct processor_metrics *m,
    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct pipeline		 p;
	struct atc_didres_opts	 dopts;
	char			 why[ATC_ERRLEN], q[ATC_ERRLEN + 8];
	bool		 connected;
	int		 backoff = BACKOFF_MIN_MS, rc;

	memset(&p, 0, sizeof(p));
	memset(&dopts, 0, sizeof(dopts));
	p.cfg = cfg;
	p.stop = stop;
	p.m = m;
	p.api = api_client_new(cfg->api_url, cfg->api_key, cfg->tenant_id,
	    cfg->api_timeout_ms, (int)cfg->concurrency, err, errlen);
	if (p.api == NULL)
		return -1;
	if (cfg->api_ca_file != NULL && api_client_set_ca_file(p.api,
	    cfg->api_ca_file, err, errlen) == -1) {
		api_client_free(p.api);
		return -1;
	}
	/* The resolver's own defaults: timeouts, retries and its rate
	 * limit only delay identity messages, never the loop. */
	dopts.plc_url = cfg->plc_url;
	if ((p.resolver = resolver_new(&dopts, m->r, err, errlen)) == NULL) {
		api_client_free(p.api);
		return -1;
	}
	if ((p.fetch = fetch_event_new(cfg, m->r, err, errlen)) == NULL &&
	    err[0] != '\0') {
		api_client_free(p.api);
		resolver_free(p.resolver);
		return -1;
	}
	p.ctx.pending = &p.pending;
	p.ctx.resolving = &p.resolving;
	p.ctx.settle = &p.settle;
	p.ctx.m = m;
	p.ctx.resolver = p.resolver;
	while (!*stop) {
		why[0] = '\0';
		rc = session_run(&p, &connected, why, sizeof(why));
		session_close(&p);
		if (rc == 0)
			break;
		if (connected)
			backoff = BACKOFF_MIN_MS;
		atc_log_warn("mq_disconnected", "retry_in_ms=%d cause=%s",
		    backoff, atc_log_quote(q, sizeof(q), why));
		backoff_sleep(stop, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
		    backoff * 2;
	}
	api_client_free(p.api);
	resolver_free(p.resolver);
	fetch_event_free(p.fetch);
	atc_mq_free(p.probe);
	atc_log_info("shutdown", "cause=stopped");
	return 0;
}
