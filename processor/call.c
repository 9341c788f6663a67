/* SPDX-License-Identifier: ISC */
/*
 * API calls built from pending jobs and their answers turned into fates.
 * A batch carries its jobs in delivery order, so several writes to one
 * record keep their order (the API also orders by rev). Each item of a
 * batch answer gets exactly the fate a single call with that status would
 * get; a batch refused as a whole is either a transient failure (every
 * job retries) or not the messages' fault (each is then sent alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_client.h"
#include "batch.h"
#include "buf.h"
#include "call.h"
#include "job.h"
#include "log.h"
#include "map.h"
#include "map_life.h"
#include "metrics.h"
#include "outcome.h"
#include "resolver.h"
#include "settle.h"
#include "telemetry.h"

#define BATCH_PATH	"/api/integration/batch"
/* Bound of a lifecycle call's answer ({"known": ..., "applied": ...}). */
#define LIFE_RESP_MAX	4096

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

void
call_free(struct call *c)
{
	struct job	*j;

	if (c == NULL)
		return;
	while ((j = c->jobs) != NULL) {
		c->jobs = j->next;
		job_free(j);
	}
	free(c->body);
	free(c->request_id);
	free(c);
}

static struct job *
call_pop(struct call *c)
{
	struct job	*j = c->jobs;

	if (j != NULL) {
		c->jobs = j->next;
		j->next = NULL;
	}
	return j;
}

struct call *
call_take(struct job_fifo *q, size_t batch_size)
{
	struct call	*c;
	struct job	**link;
	struct atc_buf	 b;
	size_t		 mark;

	c = atc_xcalloc(1, sizeof(*c));
	link = &c->jobs;
	atc_buf_init(&b, 0);
	while (q->head != NULL && c->njobs < batch_size) {
		if (batch_size == 1 || q->head->single) {
			if (c->njobs == 0) {
				*link = job_fifo_pop(q);
				c->njobs = 1;
			}
			break;
		}
		mark = b.len;
		if (batch_body_add(&b, &q->head->call,
		    job_request_id(q->head)) == -1) {
			q->head->single = true;
			continue;
		}
		/* The first item goes even when alone it is too big. */
		if (c->njobs > 0 && b.len + 2 > BATCH_MAX_BYTES) {
			atc_buf_truncate(&b, mark);
			break;
		}
		*link = job_fifo_pop(q);
		link = &(*link)->next;
		c->njobs++;
	}
	if (c->njobs > 1) {
		c->batch = true;
		batch_body_finish(&b);
		c->body = atc_buf_release(&b);
		atc_buf_init(&b, 64);
		atc_buf_appendf(&b, "%s+%zu", c->jobs->request_id,
		    c->njobs - 1);
		c->request_id = atc_buf_release(&b);
	}
	atc_buf_cleanup(&b);
	return c;
}

void
call_request(const struct call *c, struct api_request *req)
{
	memset(req, 0, sizeof(*req));
	req->udata = (void *)c;
	if (c->batch) {
		req->method = "POST";
		req->path = BATCH_PATH;
		req->body = c->body;
		req->request_id = c->request_id;
		req->resp_max = (c->njobs + 1) * BATCH_RESP_PER_ITEM;
		return;
	}
	if (map_life_kind(c->jobs->call.kind))
		req->resp_max = LIFE_RESP_MAX;
	req->method = c->jobs->call.method == MAP_POST ? "POST" : "DELETE";
	req->path = c->jobs->call.path;
	req->body = c->jobs->call.body;
	req->request_id = c->jobs->request_id;
}

/* Every job of c fails the same transient way. */
static int
retry_all(struct call *c, const struct api_result *r, struct settle *s,
    struct processor_metrics *m, char *err, size_t errlen)
{
	struct job	*j;

	atc_log_warn("batch_failed", "request_id=%s items=%zu status=%ld "
	    "ms=%llu", c->request_id, c->njobs, r->status,
	    (unsigned long long)r->elapsed_ms);
	while ((j = call_pop(c)) != NULL) {
		ptelemetry_error(m, j->call.kind, j->call.op,
		    error_class(r->status));
		if (settle_retry(s, j, r->status, r->retry_after_s, r->error,
		    err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Back to the head of q, in order, each to be sent alone. */
static void
split(struct call *c, struct job_fifo *q, long status, const char *why)
{
	struct job	*j;
	char		 qw[ATC_ERRLEN * 2 + 8];

	atc_log_warn("batch_split", "request_id=%s items=%zu status=%ld "
	    "cause=%s", c->request_id, c->njobs, status,
	    atc_log_quote(qw, sizeof(qw), why));
	for (j = c->jobs; j != NULL; j = j->next)
		j->single = true;
	job_fifo_requeue(q, c->jobs);
	c->jobs = NULL;
	c->njobs = 0;
}

/* Each job of a batch by its own result in a 2xx answer. */
static int
settle_items(struct call *c, const struct api_result *r, struct job_fifo *q,
    struct settle *s, struct processor_metrics *m, char *err, size_t errlen)
{
	struct batch_answer	*ans, *a;
	struct job		*j;
	char			 why[ATC_ERRLEN];
	char			 reason[FATE_EXCERPT_LEN + 1];
	size_t			 i;
	int			 ret = -1;

	ans = atc_xcalloc(c->njobs, sizeof(*ans));
	if (r->body_cut || batch_parse(ans, c->njobs, r->body, r->body_len,
	    why, sizeof(why)) == -1) {
		split(c, q, r->status, r->body_cut ? "batch answer over its "
		    "size bound" : why);
		ret = 0;
		goto out;
	}
	atc_log_debug("batch_done", "request_id=%s items=%zu status=%ld "
	    "ms=%llu", c->request_id, c->njobs, r->status,
	    (unsigned long long)r->elapsed_ms);
	for (i = 0; (j = call_pop(c)) != NULL; i++) {
		a = &ans[i];
		switch (batch_outcome(a)) {
		case OUTCOME_OK:
			if (settle_ok(s, j, a->status, r->elapsed_ms, err,
			    errlen) == -1)
				goto out;
			continue;
		case OUTCOME_RETRY:
			ptelemetry_error(m, j->call.kind, j->call.op,
			    error_class(a->status));
			if (a->status == 0)
				(void)snprintf(a->detail, sizeof(a->detail),
				    "no result for this item in the batch "
				    "answer");
			if (settle_retry(s, j, a->status, r->retry_after_s,
			    a->detail, err, errlen) == -1)
				goto out;
			continue;
		case OUTCOME_DROP:
			break;
		}
		ptelemetry_error(m, j->call.kind, j->call.op,
		    error_class(a->status));
		(void)snprintf(reason, sizeof(reason), "api rejected: http "
		    "%ld%s%s", a->status, a->detail[0] ? ": " : "", a->detail);
		if (settle_park(s, j, a->status, a->detail, reason, err,
		    errlen) == -1)
			goto out;
	}
	ret = 0;
out:
	free(ans);
	return ret;
}

/*
 * An identity event of a DID the API knows: the handle it carried is only
 * a hint, so the DID document is resolved and j sent again with what the
 * resolver says. The resolution runs on the resolver's thread: j waits in
 * ctx->resolving, unacked and inside the prefetch window, while other
 * messages keep their API calls going; call_resolved() picks it up. Only
 * known DIDs get here (the API answered "resolve"), so the network's
 * identity traffic never reaches the PLC directory.
 */
static void
life_resolve(struct job *j, struct call_ctx *ctx)
{
	j->ticket = ++ctx->last_ticket;
	j->resolve_ms = atc_mono_ms();
	resolver_submit(ctx->resolver, j->ticket, j->call.uri, true);
	job_fifo_push(ctx->resolving, j);
	atc_log_debug("identity_resolving", "uri=%s ticket=%llu "
	    "waiting=%zu request_id=%s", j->call.uri,
	    (unsigned long long)j->ticket, ctx->resolving->n,
	    job_request_id(j));
}

/*
 * The handle is the DID document's first valid alias; the reverse check
 * (handle -> DID over DNS or HTTPS) is not made. The resolved job goes to
 * the head of the pending FIFO, alone, and is acked only once the API
 * applied that second call.
 */
int
call_resolved(struct call_ctx *ctx, const struct resolver_result *rr,
    char *err, size_t errlen)
{
	const struct atc_did_doc	*doc = &rr->doc;
	struct job			*j;
	bool				 ok = rr->result == ATC_DIDRES_OK;
	char				*body;

	/* None: its session ended and the message comes back anyway. */
	if ((j = job_fifo_take_ticket(ctx->resolving, rr->ticket)) == NULL)
		return 0;
	j->ticket = 0;
	if (rr->result == ATC_DIDRES_FAIL)
		return settle_retry(ctx->settle, j, 0, -1, rr->err, err,
		    errlen);
	body = map_life_resolved(j->call.body, ok ? doc->handle : "",
	    ok ? doc->pds : NULL, rr->tombstoned);
	if (body == NULL)
		return settle_park(ctx->settle, j, 0, NULL,
		    "identity body unreadable", err, errlen);
	atc_log_info("identity_resolved", "uri=%s handle=%s pds=%s "
	    "tombstoned=%s ms=%llu request_id=%s", j->call.uri,
	    ok && doc->handle[0] ? doc->handle : "handle.invalid",
	    ok && doc->pds[0] ? doc->pds : "-", rr->tombstoned ? "yes" : "no",
	    (unsigned long long)(atc_mono_ms() - j->resolve_ms),
	    job_request_id(j));
	free(j->call.body);
	j->call.body = body;
	j->single = true;
	j->next = NULL;
	job_fifo_requeue(ctx->pending, j);
	return 0;
}

/* A lifecycle call's 2xx answer: an unknown DID is acked as ignored, an
 * identity asking for resolution is resolved, anything else applied. */
static int
settle_life(struct job *j, const struct api_result *r, struct call_ctx *ctx,
    char *err, size_t errlen)
{
	json_t	*ans;
	int	 known, resolve;

	ans = r->body != NULL && !r->body_cut ? json_loadb(r->body,
	    r->body_len, 0, NULL) : NULL;
	known = !json_is_false(json_object_get(ans, "known"));
	resolve = json_is_true(json_object_get(ans, "resolve"));
	json_decref(ans);
	if (!known)
		return settle_ignored(ctx->settle, j, r->status, err, errlen);
	if (resolve && ctx->resolver != NULL &&
	    strcmp(j->call.kind, "identity") == 0) {
		life_resolve(j, ctx);
		return 0;
	}
	return settle_ok(ctx->settle, j, r->status, r->elapsed_ms, err,
	    errlen);
}

int
call_settle(struct call *c, const struct api_result *r, struct call_ctx *ctx,
    char *err, size_t errlen)
{
	struct job_fifo			*q = ctx->pending;
	struct settle			*s = ctx->settle;
	struct processor_metrics	*m = ctx->m;
	struct job			*j;
	int				 rc = 0;

	atc_histogram_observe(m->api_request, (double)r->elapsed_ms / 1e3);
	atc_metric_set(m->api_up, r->status != 0);
	if (!c->batch) {
		j = call_pop(c);
		if (outcome_classify(r->status) != OUTCOME_OK)
			ptelemetry_error(m, j->call.kind, j->call.op,
			    error_class(r->status));
		if (map_life_kind(j->call.kind) && r->status >= 200 &&
		    r->status <= 299)
			rc = settle_life(j, r, ctx, err, errlen);
		else
			rc = settle_answer(s, j, r->status, r->retry_after_s,
			    r->error, r->elapsed_ms, err, errlen);
	} else if (r->status >= 200 && r->status <= 299)
		rc = settle_items(c, r, q, s, m, err, errlen);
	else if (outcome_classify(r->status) == OUTCOME_RETRY)
		rc = retry_all(c, r, s, m, err, errlen);
	else
		split(c, q, r->status, r->error);
	call_free(c);
	return rc;
}
