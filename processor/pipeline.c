/* SPDX-License-Identifier: ISC */
/*
 * The processor's loop: one thread multiplexes the consuming RabbitMQ
 * connection and the curl multi handle, so up to CONCURRENCY API calls are
 * in flight while further deliveries wait in a local FIFO (bounded by the
 * prefetch window). Each delivery is one struct job that owns the message
 * and its mapped call. Invariant: a message is acked only after its fate is
 * durable (API 2xx, or a confirmed republish to a retry queue or the DLQ);
 * anything else is left unacked and comes back after a reconnect.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "buf.h"
#include "fate.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "mq.h"
#include "outcome.h"
#include "pipeline.h"
#include "settings.h"
#include "telemetry.h"
#include "util.h"

#define POLL_MS		200
#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	10000
#define DRAIN_MAX_MS	30000
#define DLQ_CHECK_MS	10000

struct job {
	struct atc_mq_msg	 msg;		/* owned */
	struct map_call		 call;		/* owned */
	char			 rk[256];	/* original routing key */
	char			 first_failure[48];	/* "" = none yet */
	char			*request_id;	/* owned */
	long long		 attempts;	/* failures before this delivery */
	uint64_t		 start_us;	/* delivery time */
	struct job		*next;		/* pending FIFO */
};

struct pipeline {
	const struct settings	*cfg;
	volatile sig_atomic_t	*stop;
	struct api_client	*api;		/* owned, lives across sessions */
	struct atc_mq		*cons;		/* owned per session */
	struct atc_mq		*pub;		/* owned per session, confirms */
	struct job		*head, *tail;	/* pending, owned */
	size_t			 npending;
	struct processor_metrics *m;		/* borrowed */
	struct atc_mq		*probe;		/* DLQ depth, or NULL */
	uint64_t		 next_dlq_ms;
};

static const char *
error_class(long status)
{
	if (status == 0)
		return "network";
	if (status == 424)
		return "event_not_yet_known";
	if (status == 429)
		return "http_429";
	if (status >= 500)
		return "http_5xx";
	return "http_4xx";
}

static void
job_done(struct pipeline *p, const struct job *j, const char *status)
{
	ptelemetry_processed(p->m, j->call.kind, j->call.op, status);
	atc_histogram_observe(p->m->processing,
	    (double)(atc_wall_us() - j->start_us) / 1e6);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	atc_mq_msg_release(&j->msg);
	map_call_cleanup(&j->call);
	free(j->request_id);
	free(j);
}

static void
job_free_cb(void *udata, void *arg)
{
	job_free(udata);
}

static const char *
job_uri(const struct job *j)
{
	if (j->call.uri != NULL)
		return j->call.uri;
	return j->msg.message_id != NULL ? j->msg.message_id : "unknown";
}

/* Acks j's delivery and frees j. */
static int
job_ack(struct pipeline *p, struct job *j, char *err, size_t errlen)
{
	int	rc;

	rc = atc_mq_ack(p->cons, j->msg.tag, err, errlen);
	job_free(j);
	return rc;
}

static int
job_park(struct pipeline *p, struct job *j, long status, const char *error,
    const char *reason, char *err, size_t errlen)
{
	struct fate_info	fi;
	char			qc[256], qe[256];

	fi.routing_key = j->rk;
	fi.attempts = j->attempts + (status != 0 || error != NULL ? 1 : 0);
	fi.first_failure_at = j->first_failure[0] ? j->first_failure : NULL;
	fi.status = status;
	fi.error = error != NULL ? error : "";
	fi.reason = reason;
	if (fate_park(p->pub, &j->msg, &fi, err, errlen) == -1) {
		job_free(j);
		return -1;
	}
	job_done(p, j, "parked");
	atc_metric_inc(p->m->parked);
	atc_log_warn("record_parked", "uri=%s rev=%s routing_key=%s "
	    "status=%ld attempts=%lld cause=%s error=%s", job_uri(j),
	    j->call.rev ? j->call.rev : "-", j->rk, status, fi.attempts,
	    atc_log_quote(qc, sizeof(qc), reason),
	    atc_log_quote(qe, sizeof(qe), fi.error));
	return job_ack(p, j, err, errlen);
}

static int
job_retry(struct pipeline *p, struct job *j, const struct api_result *r,
    char *err, size_t errlen)
{
	struct fate_info	fi;
	char			reason[FATE_EXCERPT_LEN + 1], qe[256];
	int			rung;

	rung = outcome_pick_rung(j->attempts + 1, r->retry_after_s,
	    atc_mq_ladder, atc_mq_nladder);
	if (rung < 0) {
		(void)snprintf(reason, sizeof(reason), "retries exhausted "
		    "after %lld attempts: last status %ld", j->attempts + 1,
		    r->status);
		return job_park(p, j, r->status, r->error, reason, err,
		    errlen);
	}
	fi.routing_key = j->rk;
	fi.attempts = j->attempts + 1;
	fi.first_failure_at = j->first_failure[0] ? j->first_failure : NULL;
	fi.status = r->status;
	fi.error = r->error;
	fi.reason = NULL;
	if (fate_retry(p->pub, &j->msg, &fi, rung, err, errlen) == -1) {
		job_free(j);
		return -1;
	}
	job_done(p, j, "retry");
	atc_metric_inc(p->m->retries[rung < 8 ? rung : 7]);
	atc_log_info("record_retry", "uri=%s rev=%s status=%ld attempts=%lld "
	    "rung=%s retry_after_s=%ld cause=%s", job_uri(j),
	    j->call.rev ? j->call.rev : "-", r->status, fi.attempts,
	    atc_mq_ladder[rung].name, r->retry_after_s,
	    atc_log_quote(qe, sizeof(qe), r->error));
	return job_ack(p, j, err, errlen);
}

/* Decides the fate of a finished API call. -1 only on a RabbitMQ failure
 * (the session must restart; j is freed either way). */
static int
job_settle(struct pipeline *p, struct job *j, const struct api_result *r,
    char *err, size_t errlen)
{
	char	reason[FATE_EXCERPT_LEN + 1];

	atc_histogram_observe(p->m->api_request, (double)r->elapsed_ms / 1e3);
	atc_metric_set(p->m->api_up, r->status != 0);
	if (outcome_classify(r->status) != OUTCOME_OK)
		ptelemetry_error(p->m, j->call.kind, j->call.op,
		    error_class(r->status));
	switch (outcome_classify(r->status)) {
	case OUTCOME_OK:
		job_done(p, j, "ok");
		atc_log_debug("record_applied", "uri=%s rev=%s op=%s "
		    "status=%ld ms=%llu", job_uri(j),
		    j->call.rev ? j->call.rev : "-",
		    j->call.op ? j->call.op : "-", r->status,
		    (unsigned long long)r->elapsed_ms);
		return job_ack(p, j, err, errlen);
	case OUTCOME_RETRY:
		return job_retry(p, j, r, err, errlen);
	case OUTCOME_DROP:
		break;
	}
	(void)snprintf(reason, sizeof(reason), "api rejected: http %ld",
	    r->status);
	return job_park(p, j, r->status, r->error, reason, err, errlen);
}

/* Takes ownership of a delivery: maps it and queues the call, or parks
 * an invalid message at once. -1 only on a RabbitMQ failure. */
static int
intake(struct pipeline *p, struct atc_mq_msg *m, char *err, size_t errlen)
{
	struct job	*j;
	char		 reason[ATC_ERRLEN], rk[256];
	struct atc_buf	 rid;

	j = atc_xcalloc(1, sizeof(*j));
	j->msg = *m;
	memset(m, 0, sizeof(*m));
	/* A message back from a retry queue carries the routing key of the
	 * queue; the original one travels in x-routing-key. */
	if (atc_mq_msg_header_str(&j->msg, "x-routing-key", rk,
	    sizeof(rk)) == 0 && rk[0] != '\0')
		(void)snprintf(j->rk, sizeof(j->rk), "%s", rk);
	else
		(void)snprintf(j->rk, sizeof(j->rk), "%s",
		    j->msg.routing_key);
	if (atc_mq_msg_header_int(&j->msg, "x-attempts", &j->attempts) == -1 ||
	    j->attempts < 0)
		j->attempts = 0;
	if (atc_mq_msg_header_str(&j->msg, "x-first-failure-at",
	    j->first_failure, sizeof(j->first_failure)) == -1)
		j->first_failure[0] = '\0';

	j->start_us = atc_wall_us();
	if (map_message(&j->call, j->msg.body, j->msg.len, reason,
	    sizeof(reason)) == -1) {
		ptelemetry_error(p->m, j->call.kind, j->call.op, "invalid");
		return job_park(p, j, 0, NULL, reason, err, errlen);
	}

	atc_buf_init(&rid, 128);
	if (j->msg.message_id != NULL)
		atc_buf_puts(&rid, j->msg.message_id);
	else
		atc_buf_appendf(&rid, "%s#%s", j->call.uri, j->call.rev);
	j->request_id = atc_buf_release(&rid);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->npending++;
	return 0;
}

static int
dispatch(struct pipeline *p, char *err, size_t errlen)
{
	struct api_request	 req;
	struct job		*j;
	char			 why[ATC_ERRLEN];

	while (p->head != NULL &&
	    api_client_inflight(p->api) < (size_t)p->cfg->concurrency) {
		j = p->head;
		if ((p->head = j->next) == NULL)
			p->tail = NULL;
		j->next = NULL;
		p->npending--;
		req.method = j->call.method == MAP_POST ? "POST" : "DELETE";
		req.path = j->call.path;
		req.body = j->call.body;
		req.request_id = j->request_id;
		req.udata = j;
		if (api_client_start(p->api, &req, why, sizeof(why)) == -1) {
			/* Local failure (no memory for a handle): treat it
			 * like no answer, so the message retries. */
			struct api_result r = { .udata = j, .status = 0,
			    .retry_after_s = -1 };

			(void)snprintf(r.error, sizeof(r.error), "%s", why);
			if (job_settle(p, j, &r, err, errlen) == -1)
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
	return 0;
}

static void
session_close(struct pipeline *p)
{
	struct job	*j;

	/* Unacked deliveries return to the queue when the channel closes. */
	api_client_abort_all(p->api, job_free_cb, NULL);
	while ((j = p->head) != NULL) {
		p->head = j->next;
		job_free(j);
	}
	p->tail = NULL;
	p->npending = 0;
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

/* One connected session. Returns 0 after a clean stop, -1 with err when
 * RabbitMQ failed (the caller reconnects). */
static int
session_run(struct pipeline *p, bool *connected, char *err, size_t errlen)
{
	struct atc_mq_msg	 m;
	struct api_result	 r;
	uint64_t		 drain_deadline = 0, last_service = 0, now;
	uint64_t		 acked;
	bool			 draining = false, nacked, want;
	int			 rc, timeout;

	*connected = false;
	if (session_open(p, err, errlen) == -1)
		return -1;
	*connected = true;
	atc_metric_set(p->m->queue_connected, 1);
	atc_log_info("mq_connected", "queue=%s prefetch=%lld concurrency=%lld",
	    ATC_MQ_QUEUE, p->cfg->prefetch, p->cfg->concurrency);
	for (;;) {
		now = atc_mono_ms();
		if (*p->stop && !draining) {
			draining = true;
			drain_deadline = now + (uint64_t)(p->cfg->api_timeout_ms +
			    1000 < DRAIN_MAX_MS ? p->cfg->api_timeout_ms + 1000 :
			    DRAIN_MAX_MS);
			atc_log_info("shutdown_draining", "inflight=%zu "
			    "pending=%zu", api_client_inflight(p->api),
			    p->npending);
		}
		if (draining && (api_client_inflight(p->api) == 0 ||
		    now >= drain_deadline))
			break;
		want = !draining && p->npending + api_client_inflight(p->api) <
		    (size_t)p->cfg->prefetch;
		while (want) {
			rc = atc_mq_consume_next(p->cons, 0, &m, err, errlen);
			if (rc == -1)
				return -1;
			if (rc == 0)
				break;
			if (intake(p, &m, err, errlen) == -1)
				return -1;
			want = p->npending + api_client_inflight(p->api) <
			    (size_t)p->cfg->prefetch;
		}
		if (!draining && dispatch(p, err, errlen) == -1)
			return -1;
		timeout = want && atc_mq_consume_buffered(p->cons) ? 0 :
		    POLL_MS;
		if (api_client_poll(p->api, want ? atc_mq_fd(p->cons) : -1,
		    timeout, err, errlen) == -1)
			return -1;
		while (api_client_next(p->api, &r) == 1)
			if (job_settle(p, r.udata, &r, err, errlen) == -1)
				return -1;
		atc_metric_set(p->m->inflight,
		    (double)api_client_inflight(p->api));
		atc_metric_set(p->m->pending, (double)p->npending);
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
		atc_log_warn("shutdown_abandoned", "inflight=%zu cause=%s",
		    api_client_inflight(p->api),
		    "\"drain deadline passed; messages stay unacked and are "
		    "redelivered\"");
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
	struct pipeline	 p;
	char		 why[ATC_ERRLEN], q[ATC_ERRLEN + 8];
	bool		 connected;
	int		 backoff = BACKOFF_MIN_MS, rc;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.stop = stop;
	p.m = m;
	p.api = api_client_new(cfg->api_url, cfg->api_key, cfg->tenant_id,
	    cfg->api_timeout_ms, (int)cfg->concurrency, err, errlen);
	if (p.api == NULL)
		return -1;
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
	atc_mq_free(p.probe);
	atc_log_info("shutdown", "cause=stopped");
	return 0;
}
