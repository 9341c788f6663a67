/* SPDX-License-Identifier: ISC */
/*
 * The dead-letter queue as an operable store. Messages are read with
 * basic.get and manual acks on a per-run connection: what is only looked
 * at stays unacked and returns to the queue when the connection closes,
 * so list/show never remove anything. A replay republishes the original
 * body and message id to the main exchange under the original routing key
 * on a second, confirm-mode connection and acks the parked copy only after
 * the broker's confirm. A run reads at most the depth seen at its start,
 * and always all of it: the broker puts returned messages behind the rest,
 * so only a whole pass, returned in delivery order, keeps the positions
 * (the indices operators use) stable from one run to the next.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dlq.h"
#include "mq.h"
#include "util.h"

#define DLQ_CONFIRM_MS	10000

/* The routing-key kind of a collection, NULL for foreign ones. */
static const char *
dlq_kind(const char *collection)
{
	if (strcmp(collection, "community.lexicon.calendar.event") == 0 ||
	    strcmp(collection, "events.smokesignal.calendar.event") == 0)
		return "event";
	if (strcmp(collection, "community.lexicon.calendar.rsvp") == 0 ||
	    strcmp(collection, "events.smokesignal.calendar.rsvp") == 0)
		return "rsvp";
	return NULL;
}

void
atc_dlq_entry_from_body(struct atc_dlq_entry *e, const void *body,
    size_t len)
{
	json_t		*root, *commit;
	const char	*did, *coll, *rkey, *op, *kind;

	if (e->uri[0] != '\0' && e->routing_key[0] != '\0')
		return;
	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		return;
	commit = json_object_get(root, "commit");
	did = json_string_value(json_object_get(root, "did"));
	coll = json_string_value(json_object_get(commit, "collection"));
	rkey = json_string_value(json_object_get(commit, "rkey"));
	op = json_string_value(json_object_get(commit, "operation"));
	if (e->uri[0] == '\0' && did != NULL && coll != NULL && rkey != NULL)
		(void)snprintf(e->uri, sizeof(e->uri), "at://%s/%s/%s", did,
		    coll, rkey);
	if (e->routing_key[0] == '\0' && coll != NULL && op != NULL &&
	    (kind = dlq_kind(coll)) != NULL && (strcmp(op, "create") == 0 ||
	    strcmp(op, "update") == 0 || strcmp(op, "delete") == 0))
		(void)snprintf(e->routing_key, sizeof(e->routing_key),
		    "%s.%s", kind, op);
	json_decref(root);
}

void
atc_dlq_entry_read(struct atc_dlq_entry *out, const struct atc_mq_msg *m)
{
	const char	*h;
	size_t		 n;

	memset(out, 0, sizeof(*out));
	(void)atc_mq_msg_header_str(m, "x-reason", out->reason,
	    sizeof(out->reason));
	(void)atc_mq_msg_header_str(m, "x-last-error", out->last_error,
	    sizeof(out->last_error));
	(void)atc_mq_msg_header_str(m, "x-routing-key", out->routing_key,
	    sizeof(out->routing_key));
	(void)atc_mq_msg_header_str(m, "x-last-failure-at",
	    out->last_failure_at, sizeof(out->last_failure_at));
	(void)atc_mq_msg_header_str(m, "x-first-failure-at",
	    out->first_failure_at, sizeof(out->first_failure_at));
	if (atc_mq_msg_header_int(m, "x-attempts", &out->attempts) == -1)
		out->attempts = 0;
	if (atc_mq_msg_header_int(m, "x-last-status", &out->status) == -1)
		out->status = 0;
	out->message_id = m->message_id;
	out->body = m->body;
	out->len = m->len;
	/* The uri is the message id (at-uri#rev) without its rev. */
	if (m->message_id != NULL) {
		h = strchr(m->message_id, '#');
		n = h != NULL ? (size_t)(h - m->message_id) :
		    strlen(m->message_id);
		if (n < sizeof(out->uri)) {
			memcpy(out->uri, m->message_id, n);
			out->uri[n] = '\0';
		}
	}
	atc_dlq_entry_from_body(out, m->body, m->len);
}

bool
atc_dlq_matches(const struct atc_dlq_entry *e, const char *sub)
{
	return strstr(e->uri, sub) != NULL || strstr(e->reason, sub) !=
	    NULL || strstr(e->last_error, sub) != NULL ||
	    strstr(e->routing_key, sub) != NULL;
}

static bool
dlq_selected(const struct atc_dlq_req *req, const struct atc_dlq_entry *e)
{
	switch (req->op) {
	case ATC_DLQ_LIST:
		return true;
	case ATC_DLQ_SHOW:
		return e->index == req->index;
	case ATC_DLQ_REPLAY:
		return req->all || e->index == req->index ||
		    (req->filter != NULL && req->filter[0] != '\0' &&
		    atc_dlq_matches(e, req->filter));
	}
	return false;
}

/* Republishes m under e's routing key, waits for the confirm, acks. */
static int
dlq_replay_one(struct atc_mq *get, struct atc_mq *pub,
    const struct atc_mq_msg *m, const struct atc_dlq_entry *e, char *err,
    size_t errlen)
{
	uint64_t	tag;

	if (atc_mq_publish(pub, ATC_MQ_EXCHANGE, e->routing_key, m->body,
	    m->len, m->message_id, NULL, 0, &tag, err, errlen) == -1 ||
	    atc_mq_confirm_wait(pub, tag, DLQ_CONFIRM_MS, err,
	    errlen) == -1)
		return -1;
	return atc_mq_ack(get, m->tag, err, errlen);
}

int
atc_dlq_run(const char *url, const char *conn_name,
    const struct atc_dlq_req *req, struct atc_dlq_result *out, char *err,
    size_t errlen)
{
	struct atc_mq		*get = NULL, *pub = NULL;
	struct atc_mq_msg	 m;
	struct atc_dlq_entry	 e;
	uint64_t		*held = NULL;
	size_t			 i, nheld = 0;
	int			 rc, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	out->depth = -1;
	if ((get = atc_mq_connect(url, conn_name, err, errlen)) == NULL ||
	    atc_mq_declare_topology(get, err, errlen) == -1 ||
	    (out->depth = atc_mq_queue_depth(get, ATC_MQ_DLQ, err,
	    errlen)) == -1)
		goto out;
	if (req->op == ATC_DLQ_REPLAY && ((pub = atc_mq_connect(url,
	    conn_name, err, errlen)) == NULL ||
	    atc_mq_confirm_select(pub, err, errlen) == -1))
		goto out;
	if (out->depth > 0)
		held = atc_xcalloc((size_t)out->depth, sizeof(*held));
	for (i = 1; i <= (size_t)out->depth; i++) {
		if ((rc = atc_mq_get(get, ATC_MQ_DLQ, &m, err, errlen)) == -1)
			goto out;
		if (rc == 0)
			break;
		atc_dlq_entry_read(&e, &m);
		e.index = i;
		if (i == req->index)
			out->found = true;
		if (dlq_selected(req, &e) && (req->op != ATC_DLQ_LIST ||
		    req->limit == 0 || out->nvisited < req->limit)) {
			e.state = ATC_DLQ_SEEN;
			if (req->op == ATC_DLQ_REPLAY && e.routing_key[0] ==
			    '\0') {
				e.state = ATC_DLQ_NO_ROUTE;
				out->nskipped++;
			} else if (req->op == ATC_DLQ_REPLAY) {
				if (dlq_replay_one(get, pub, &m, &e, err,
				    errlen) == -1)
					goto out;
				e.state = ATC_DLQ_REPLAYED;
				out->nreplayed++;
			}
			out->nvisited++;
			if (req->visit != NULL)
				req->visit(req->arg, &e);
		}
		if (e.state != ATC_DLQ_REPLAYED)
			held[nheld++] = m.tag;
		atc_mq_msg_release(&m);
	}
	ret = 0;
out:
	atc_mq_msg_release(&m);
	/* Closing would return what we hold too, in no set order; requeueing
	 * one by one in delivery order keeps the positions stable. */
	for (i = 0; i < nheld; i++)
		if (atc_mq_nack(get, held[i], true, NULL, 0) == -1)
			break;
	free(held);
	atc_mq_free(get);
	atc_mq_free(pub);
	return ret;
}

long long
atc_dlq_purge(const char *url, const char *conn_name, char *err,
    size_t errlen)
{
	struct atc_mq	*mq;
	long long	 n = -1;

	if ((mq = atc_mq_connect(url, conn_name, err, errlen)) != NULL &&
	    atc_mq_declare_topology(mq, err, errlen) == 0)
		n = atc_mq_queue_purge(mq, ATC_MQ_DLQ, err, errlen);
	atc_mq_free(mq);
	return n;
}
