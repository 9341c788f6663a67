/* SPDX-License-Identifier: ISC */
/*
 * Fetching the unknown event of an RSVP, off the processor's loop. The
 * loop only queues a request (a mutex held for a copy); one thread owns a
 * DID resolver, an XRPC client and an API client and works through the
 * queue in order: author's DID -> PDS, head rev, getRecord, the backfill
 * mapping (fetch_event_map.c, map.c), one API write. Everything is
 * bounded: FETCH_QUEUE_MAX requests wait at most, each network step has
 * its timeout, and an event asked for within FETCH_WINDOW_MS is not asked
 * for again. Every request ends in exactly one `event_fetch` log line and
 * one count of its outcome.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "buf.h"
#include "didres.h"
#include "fetch_event.h"
#include "fetch_event_map.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "outcome.h"
#include "settings.h"
#include "syntax.h"
#include "util.h"
#include "xrpc.h"

#define FETCH_QUEUE_MAX		32
#define FETCH_WINDOW_MS		30000
#define FETCH_URI_MAX		3072
#define FETCH_XRPC_TIMEOUT_MS	5000
#define FETCH_HOST_RATE		5.0	/* requests/s per PDS */
#define FETCH_HOST_BURST	10.0

/* How a fetch ended; indexes outcome_names and the counters. */
enum fetch_outcome {
	FETCH_STORED,		/* the API took the event */
	FETCH_ABSENT,		/* the PDS has no such record */
	FETCH_GONE,		/* DID or repository gone, no PDS */
	FETCH_INVALID,		/* the record does not validate or map */
	FETCH_REJECTED,		/* the API refused it for good */
	FETCH_FAILED,		/* transient: network, timeouts, 5xx */
	FETCH_BUSY,		/* queue full: not fetched this time */
	FETCH_RECENT,		/* asked for within the window */
	FETCH_NOUTCOMES,
};

static const char *const outcome_names[FETCH_NOUTCOMES] = {
	"stored", "absent", "gone", "invalid", "rejected", "failed", "busy",
	"recent",
};

struct fetch_req {
	char	uri[FETCH_URI_MAX];		/* the event */
	char	rsvp[FETCH_URI_MAX];		/* who asked, for the log */
	char	request_id[FETCH_URI_MAX];	/* the RSVP's */
};

struct fetch_event {
	const struct settings	*cfg;
	pthread_t		 thread;
	bool			 started;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	bool			 stop;			/* under lock */
	struct fetch_req	 queue[FETCH_QUEUE_MAX];	/* under lock */
	size_t			 head, n;		/* under lock */
	struct fetch_recent	 recent;		/* under lock */
	/* The thread's own. */
	struct atc_didres	*didres;
	struct atc_xrpc_limiter	*limiter;
	struct atc_xrpc		*xrpc;
	struct api_client	*api;
	struct atc_buf		 answer;
	struct atc_buf		 body;
	struct atc_metric	*count[FETCH_NOUTCOMES];
};

/* One fetch in progress: what its log line reports. */
struct fetch_run {
	const struct fetch_req	*rq;
	char			 pds[ATC_DID_MAXURL + 1];
	char			 rev[32];
	long			 status;	/* the API's, 0 = none */
	char			 cause[ATC_ERRLEN];
	uint64_t		 start_ms;
};

static bool
stopping(struct fetch_event *f)
{
	bool	s;

	pthread_mutex_lock(&f->lock);
	s = f->stop;
	pthread_mutex_unlock(&f->lock);
	return s;
}

static void
report(struct fetch_event *f, enum fetch_outcome o, const struct fetch_run *r)
{
	char	q[ATC_ERRLEN * 2 + 8];

	atc_metric_inc(f->count[o]);
	(void)atc_log_quote(q, sizeof(q), r->cause[0] ? r->cause : "-");
	if (o == FETCH_STORED)
		atc_log_info("event_fetch", "uri=%s outcome=%s rsvp=%s pds=%s "
		    "rev=%s status=%ld ms=%llu request_id=%s", r->rq->uri,
		    outcome_names[o], r->rq->rsvp, r->pds, r->rev, r->status,
		    (unsigned long long)(atc_mono_ms() - r->start_ms),
		    r->rq->request_id);
	else
		atc_log_warn("event_fetch", "uri=%s outcome=%s rsvp=%s pds=%s "
		    "status=%ld cause=%s ms=%llu request_id=%s", r->rq->uri,
		    outcome_names[o], r->rq->rsvp, r->pds[0] ? r->pds : "-",
		    r->status, q,
		    (unsigned long long)(atc_mono_ms() - r->start_ms),
		    r->rq->request_id);
}

/* The author's PDS, from the DID document. */
static enum fetch_outcome
find_pds(struct fetch_event *f, const char *did, struct fetch_run *r)
{
	struct atc_did_doc	doc;
	enum atc_didres_result	res;

	res = atc_didres_resolve(f->didres, did, false, &doc, NULL, r->cause,
	    sizeof(r->cause));
	if (res == ATC_DIDRES_FAIL)
		return FETCH_FAILED;
	if (res == ATC_DIDRES_GONE)
		return FETCH_GONE;
	if (doc.pds[0] == '\0') {
		atc_seterr(r->cause, sizeof(r->cause), "DID document names no "
		    "PDS");
		return FETCH_GONE;
	}
	(void)snprintf(r->pds, sizeof(r->pds), "%s", doc.pds);
	return FETCH_STORED;
}

static enum fetch_outcome
xrpc_outcome(enum atc_xrpc_result x, enum fetch_outcome refused)
{
	return x == ATC_XRPC_OK ? FETCH_STORED : x == ATC_XRPC_REFUSED ?
	    refused : FETCH_FAILED;
}

/* Head rev, then the record, into f->body as a backfill message body. */
static enum fetch_outcome
fetch_record(struct fetch_event *f, const struct atc_at_uri *u,
    const char *did, struct fetch_run *r)
{
	struct atc_buf		q;
	enum fetch_outcome	o;
	char			host[256];

	atc_buf_init(&q, 256);
	atc_buf_puts(&q, "did=");
	atc_xrpc_escape(&q, did);
	o = xrpc_outcome(atc_xrpc_get(f->xrpc, r->pds,
	    "com.atproto.sync.getLatestCommit", atc_buf_cstr(&q), &f->answer,
	    NULL, r->cause, sizeof(r->cause)), FETCH_GONE);
	if (o != FETCH_STORED)
		goto out;
	if (fetch_event_parse_rev(f->answer.data, f->answer.len, r->rev,
	    sizeof(r->rev), r->cause, sizeof(r->cause)) == -1) {
		o = FETCH_INVALID;
		goto out;
	}
	atc_buf_reset(&q);
	atc_buf_puts(&q, "repo=");
	atc_xrpc_escape(&q, did);
	atc_buf_appendf(&q, "&collection=%.*s&rkey=", (int)u->collection_len,
	    u->collection);
	atc_buf_append(&q, u->rkey, u->rkey_len);
	o = xrpc_outcome(atc_xrpc_get(f->xrpc, r->pds,
	    "com.atproto.repo.getRecord", atc_buf_cstr(&q), &f->answer, NULL,
	    r->cause, sizeof(r->cause)), FETCH_ABSENT);
	if (o != FETCH_STORED)
		goto out;
	if (atc_xrpc_url_host(r->pds, host, sizeof(host)) == -1)
		(void)snprintf(host, sizeof(host), "-");
	if (fetch_event_envelope(&f->body, r->rq->uri, r->rev, f->answer.data,
	    f->answer.len, atc_wall_us(), host, r->cause,
	    sizeof(r->cause)) == -1)
		o = FETCH_INVALID;
out:
	atc_buf_cleanup(&q);
	return o;
}

/* One API write of the mapped event, driven to its answer here. */
static enum fetch_outcome
send_event(struct fetch_event *f, const struct map_call *c,
    struct fetch_run *r)
{
	struct api_request	req;
	struct api_result	res;
	struct atc_buf		rid;
	enum fetch_outcome	o = FETCH_FAILED;
	int			got = 0;

	atc_buf_init(&rid, 128);
	atc_buf_appendf(&rid, "%s#%s", c->uri, c->rev);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = c->path;
	req.body = c->body;
	req.request_id = atc_buf_cstr(&rid);
	memset(&res, 0, sizeof(res));
	if (api_client_start(f->api, &req, r->cause, sizeof(r->cause)) == -1)
		goto out;
	/* api_client bounds the call by API_TIMEOUT_MS. */
	while ((got = api_client_next(f->api, &res)) == 0)
		if (api_client_poll(f->api, NULL, 0, 200, r->cause,
		    sizeof(r->cause)) == -1)
			break;
	if (got != 1) {
		api_client_abort_all(f->api, NULL, NULL);
		goto out;
	}
	free(res.body);
	r->status = res.status;
	(void)snprintf(r->cause, sizeof(r->cause), "%s", res.error);
	switch (outcome_classify(res.status)) {
	case OUTCOME_OK:
		o = FETCH_STORED;
		break;
	case OUTCOME_DROP:
		o = FETCH_REJECTED;
		break;
	case OUTCOME_RETRY:
		if (res.error[0] == '\0')
			(void)snprintf(r->cause, sizeof(r->cause), "api: http "
			    "%ld", res.status);
		break;
	}
out:
	atc_buf_cleanup(&rid);
	return o;
}

static void
fetch_one(struct fetch_event *f, const struct fetch_req *rq)
{
	struct fetch_run	r;
	struct atc_at_uri	u;
	struct map_call		c;
	enum fetch_outcome	o;
	char			did[ATC_DID_MAXLEN + 1];

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	r.rq = rq;
	r.start_ms = atc_mono_ms();
	/* fetch_event_subject() checked the uri when it was queued. */
	if (atc_syntax_at_uri(rq->uri, &u, r.cause, sizeof(r.cause)) == -1 ||
	    u.authority_len > ATC_DID_MAXLEN) {
		o = FETCH_INVALID;
		goto out;
	}
	memcpy(did, u.authority, u.authority_len);
	did[u.authority_len] = '\0';
	if ((o = find_pds(f, did, &r)) != FETCH_STORED || stopping(f))
		goto out;
	if ((o = fetch_record(f, &u, did, &r)) != FETCH_STORED || stopping(f))
		goto out;
	if (map_message(&c, f->body.data, f->body.len, r.cause,
	    sizeof(r.cause)) == -1 || c.kind == NULL ||
	    strcmp(c.kind, "event") != 0) {
		o = FETCH_INVALID;
		goto out;
	}
	o = send_event(f, &c, &r);
out:
	if (o == FETCH_FAILED && r.cause[0] == '\0' && stopping(f))
		(void)snprintf(r.cause, sizeof(r.cause), "stopping");
	report(f, o, &r);
	map_call_cleanup(&c);
	/* Keep the capacity of ordinary records, not of a huge one. */
	if (f->answer.cap > 256 * 1024)
		atc_buf_cleanup(&f->answer);
	if (f->body.cap > 256 * 1024)
		atc_buf_cleanup(&f->body);
}

static void *
fetch_main(void *arg)
{
	struct fetch_event	*f = arg;
	struct fetch_req	*rq;

	rq = atc_xcalloc(1, sizeof(*rq));
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (f->n == 0 && !f->stop)
			pthread_cond_wait(&f->wake, &f->lock);
		if (f->stop)
			break;
		*rq = f->queue[f->head];
		f->head = (f->head + 1) % FETCH_QUEUE_MAX;
		f->n--;
		pthread_mutex_unlock(&f->lock);
		fetch_one(f, rq);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	free(rq);
	return NULL;
}

struct fetch_event *
fetch_event_new(const struct settings *cfg, struct atc_metrics *metrics,
    char *err, size_t errlen)
{
	struct fetch_event	*f;
	struct atc_didres_opts	 dopts;
	struct atc_xrpc_opts	 xo;
	char			 labels[64];
	size_t			 i;

	if (errlen > 0)
		err[0] = '\0';
	if (cfg->fetch_event_after < 1)
		return NULL;
	f = atc_xcalloc(1, sizeof(*f));
	f->cfg = cfg;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	atc_buf_init(&f->answer, 0);
	atc_buf_init(&f->body, 0);
	for (i = 0; i < FETCH_NOUTCOMES; i++) {
		(void)snprintf(labels, sizeof(labels), "result=\"%s\"",
		    outcome_names[i]);
		f->count[i] = atc_metrics_counter(metrics,
		    "atcal_processor_event_fetches_total",
		    "Unknown events of retried RSVPs asked from their "
		    "author's PDS, by outcome.", labels);
	}
	memset(&dopts, 0, sizeof(dopts));
	dopts.plc_url = cfg->plc_url;
	dopts.timeout_ms = 3000;
	dopts.attempts = 2;
	memset(&xo, 0, sizeof(xo));
	xo.timeout_ms = FETCH_XRPC_TIMEOUT_MS;
	xo.max_body = FETCH_ANSWER_MAX;
	xo.attempts = 2;
	xo.backoff_ms = 250;
	xo.user_agent = "atcal-processor";
	/* Clients are made here, before the thread: curl's global setup is
	 * done once, on this thread. */
	f->limiter = atc_xrpc_limiter_new(FETCH_HOST_RATE, FETCH_HOST_BURST);
	if ((f->didres = atc_didres_new(&dopts, NULL, err, errlen)) == NULL ||
	    (f->xrpc = atc_xrpc_new(&xo, f->limiter, err, errlen)) == NULL ||
	    (f->api = api_client_new(cfg->api_url, cfg->api_key,
	    cfg->tenant_id, cfg->api_timeout_ms, 1, err, errlen)) == NULL ||
	    (cfg->api_ca_file != NULL && api_client_set_ca_file(f->api,
	    cfg->api_ca_file, err, errlen) == -1))
		goto fail;
	if (pthread_create(&f->thread, NULL, fetch_main, f) != 0) {
		atc_seterr(err, errlen, "fetch_event: pthread_create failed");
		goto fail;
	}
	f->started = true;
	return f;
fail:
	if (errlen > 0 && err[0] == '\0')
		atc_seterr(err, errlen, "fetch_event: cannot start");
	fetch_event_free(f);
	return NULL;
}

void
fetch_event_free(struct fetch_event *f)
{
	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->wake);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	if (f->n > 0)
		atc_log_info("event_fetch_abandoned", "queued=%zu cause="
		    "\"stopping\"", f->n);
	api_client_free(f->api);
	atc_xrpc_free(f->xrpc);
	atc_xrpc_limiter_free(f->limiter);
	atc_didres_free(f->didres);
	atc_buf_cleanup(&f->answer);
	atc_buf_cleanup(&f->body);
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void
fetch_event_note(struct fetch_event *f, const struct map_call *rsvp,
    long status, long long attempts, const char *request_id)
{
	struct fetch_req	*rq;
	char			 uri[FETCH_URI_MAX], err[ATC_ERRLEN];
	char			 q[ATC_ERRLEN * 2 + 8];
	enum fetch_outcome	 o;

	if (f == NULL || !fetch_event_wanted(rsvp, status, attempts,
	    f->cfg->fetch_event_after))
		return;
	if (fetch_event_subject(rsvp, uri, sizeof(uri), err,
	    sizeof(err)) == -1) {
		atc_metric_inc(f->count[FETCH_INVALID]);
		atc_log_warn("event_fetch", "uri=- outcome=%s rsvp=%s cause=%s "
		    "request_id=%s", outcome_names[FETCH_INVALID],
		    rsvp->uri != NULL ? rsvp->uri : "-",
		    atc_log_quote(q, sizeof(q), err), request_id);
		return;
	}
	pthread_mutex_lock(&f->lock);
	/* A full queue records nothing: the next retry asks again. */
	if (f->n == FETCH_QUEUE_MAX)
		o = FETCH_BUSY;
	else if (fetch_recent_seen(&f->recent, uri, atc_mono_ms(),
	    FETCH_WINDOW_MS))
		o = FETCH_RECENT;
	else {
		o = FETCH_STORED;
		rq = &f->queue[(f->head + f->n) % FETCH_QUEUE_MAX];
		(void)snprintf(rq->uri, sizeof(rq->uri), "%s", uri);
		(void)snprintf(rq->rsvp, sizeof(rq->rsvp), "%s",
		    rsvp->uri != NULL ? rsvp->uri : "-");
		(void)snprintf(rq->request_id, sizeof(rq->request_id), "%s",
		    request_id != NULL ? request_id : "-");
		f->n++;
		pthread_cond_signal(&f->wake);
	}
	pthread_mutex_unlock(&f->lock);
	if (o == FETCH_STORED) {
		atc_log_debug("event_fetch_queued", "uri=%s rsvp=%s "
		    "attempts=%lld request_id=%s", uri,
		    rsvp->uri != NULL ? rsvp->uri : "-", attempts, request_id);
		return;
	}
	atc_metric_inc(f->count[o]);
	if (o == FETCH_RECENT)
		atc_log_debug("event_fetch", "uri=%s outcome=%s rsvp=%s "
		    "request_id=%s", uri, outcome_names[o],
		    rsvp->uri != NULL ? rsvp->uri : "-", request_id);
	else
		atc_log_warn("event_fetch", "uri=%s outcome=%s rsvp=%s cause="
		    "\"%d fetches already queued\" request_id=%s", uri,
		    outcome_names[o], rsvp->uri != NULL ? rsvp->uri : "-",
		    FETCH_QUEUE_MAX, request_id);
}
