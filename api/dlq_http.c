/* SPDX-License-Identifier: ISC */
/*
 * Dead-letter routes: GET /api/integration/dlq (list), GET .../dlq/:n
 * (one, with its body), POST .../dlq/replay and DELETE .../dlq (purge),
 * rendered from shared/dlq.c, which owns the delivery guarantees. The DLQ
 * is global, not per tenant, so only keys without a tenant restriction may
 * operate it. Admin traffic: each request opens its own broker connection
 * from the worker (blocking it for the duration) and closes it.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "auth.h"
#include "call.h"
#include "dlq.h"
#include "log.h"
#include "util.h"

#define DLQ_LIMIT_DEFAULT	100
#define DLQ_LIMIT_MAX		1000
#define DLQ_FILTER_MAX		512
#define DLQ_CONN_NAME		"atcal-api-dlq"
#define DLQ_PREFIX		"/api/integration/dlq/"

/* Route handlers: Kore finds them by name (the routes api.c renders). */
int	api_dlq(struct http_request *);
int	api_dlq_one(struct http_request *);
int	api_dlq_replay(struct http_request *);

/* Strict positive decimal without sign; -1 otherwise. */
static int
dlq_parse_index(const char *s, size_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s < '1' || *s > '9' || strlen(s) > 18 ||
	    strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Only keys valid for any tenant pass: "*" is never a tenant id
 * (api_tenant_ok), so a key with a tenant list is refused for it. 0 or
 * -1 after setting the 403 answer. */
static int
dlq_key_global(struct api_call *c)
{
	const char	*hdr = NULL, *tok = NULL;
	char		 qkey[300];
	size_t		 len = 0;
	enum api_auth	 rc;

	qkey[0] = '\0';
	if (http_request_header(c->req, "authorization", &hdr)) {
		if (api_bearer_token(hdr, &tok, &len) == -1)
			tok = NULL;
	} else {
		if (call_qs(c, "api_key", qkey, sizeof(qkey)) == -1)
			return -1;
		tok = qkey;
		len = strlen(qkey);
	}
	rc = api_keys_check(api_keys(), tok, len, "*");
	explicit_bzero(qkey, sizeof(qkey));
	if (rc != API_AUTH_OK) {
		call_error(c, 403, "forbidden", "dead-letter operations need "
		    "a key without tenant restriction");
		return -1;
	}
	return 0;
}

/* Method, key, tenant, key scope. 0 go on, -1 the answer is set. */
static int
dlq_start(struct api_call *c, struct http_request *req, int method)
{
	call_init(c, req);
	if (req->method != method) {
		call_error(c, 405, "method_not_allowed", "method not allowed");
		return -1;
	}
	if (call_auth(c) == -1 || dlq_key_global(c) == -1)
		return -1;
	return 0;
}

/* The broker URL, or NULL after setting the 503 answer. */
static const char *
dlq_url(struct api_call *c)
{
	const char	*url = api_config()->rabbitmq_url;

	if (url == NULL) {
		call_error(c, 503, "dlq_unavailable", "RABBITMQ_URL is not "
		    "configured");
		return NULL;
	}
	return url;
}

/* 503 after a broker failure; err goes to the request's log line. */
static void
dlq_fail(struct api_call *c, const char *err)
{
	char	q[sizeof(c->note)];

	call_error(c, 503, "dlq_unavailable", "message broker unavailable, "
	    "retry later");
	c->retry_after = true;
	(void)snprintf(c->note, sizeof(c->note), "detail=%s",
	    atc_log_quote(q, sizeof(q) - 8, err));
}

static json_t *
dlq_str(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* The JSON form of one entry, without its body. */
static json_t *
dlq_entry_json(const struct atc_dlq_entry *e)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "index", json_integer((json_int_t)e->index));
	json_object_set_new(o, "uri", dlq_str(e->uri));
	json_object_set_new(o, "routingKey", dlq_str(e->routing_key));
	json_object_set_new(o, "reason", dlq_str(e->reason));
	json_object_set_new(o, "lastStatus", json_integer(e->status));
	json_object_set_new(o, "lastError", dlq_str(e->last_error));
	json_object_set_new(o, "attempts", json_integer(e->attempts));
	json_object_set_new(o, "firstFailureAt", dlq_str(e->first_failure_at));
	json_object_set_new(o, "lastFailureAt", dlq_str(e->last_failure_at));
	return o;
}

static void
dlq_visit_list(void *arg, const struct atc_dlq_entry *e)
{
	json_array_append_new(arg, dlq_entry_json(e));
}

static void
dlq_visit_show(void *arg, const struct atc_dlq_entry *e)
{
	json_t	*o, *body;

	o = dlq_entry_json(e);
	json_object_set_new(o, "messageId", e->message_id != NULL ?
	    json_string(e->message_id) : json_null());
	/* The body as JSON when it is JSON, else as text when it is UTF-8. */
	if ((body = json_loadb((const char *)e->body, e->len, 0,
	    NULL)) == NULL && (body = json_stringn((const char *)e->body,
	    e->len)) == NULL)
		body = json_null();
	json_object_set_new(o, "body", body);
	json_object_set_new(arg, "message", o);
}

static void
dlq_visit_replay(void *arg, const struct atc_dlq_entry *e)
{
	json_t	*o;

	o = json_pack("{s:I, s:o, s:s}", "index", (json_int_t)e->index,
	    "uri", dlq_str(e->uri), "result", e->state == ATC_DLQ_REPLAYED ?
	    "replayed" : "skipped_no_routing_key");
	json_array_append_new(arg, o);
}

/* GET: list (?limit=1..1000, default 100); DELETE: purge. */
int
api_dlq(struct http_request *req)
{
	struct api_call		 c;
	struct atc_dlq_req	 dr;
	struct atc_dlq_result	 res;
	const char		*url;
	json_t			*items = NULL;
	char			 lim[24], err[ATC_ERRLEN];
	long long		 n;

	memset(&dr, 0, sizeof(dr));
	if (dlq_start(&c, req, req->method == HTTP_METHOD_DELETE ?
	    HTTP_METHOD_DELETE : HTTP_METHOD_GET) == -1)
		goto out;
	if (req->method == HTTP_METHOD_DELETE) {
		if ((url = dlq_url(&c)) == NULL)
			goto out;
		if ((n = atc_dlq_purge(url, DLQ_CONN_NAME, err,
		    sizeof(err))) < 0) {
			dlq_fail(&c, err);
			goto out;
		}
		(void)snprintf(c.note, sizeof(c.note), "purged=%lld", n);
		call_ok(&c, 200, json_pack("{s:I}", "purged", (json_int_t)n));
		goto out;
	}
	if (call_qs(&c, "limit", lim, sizeof(lim)) == -1)
		goto out;
	dr.limit = DLQ_LIMIT_DEFAULT;
	if (lim[0] != '\0' && (dlq_parse_index(lim, &dr.limit) == -1 ||
	    dr.limit > DLQ_LIMIT_MAX)) {
		call_invalid(&c, json_pack("{s:s}", "limit",
		    "must be an integer from 1 to 1000"));
		goto out;
	}
	if ((url = dlq_url(&c)) == NULL)
		goto out;
	items = json_array();
	dr.op = ATC_DLQ_LIST;
	dr.visit = dlq_visit_list;
	dr.arg = items;
	if (atc_dlq_run(url, DLQ_CONN_NAME, &dr, &res, err,
	    sizeof(err)) == -1) {
		dlq_fail(&c, err);
		goto out;
	}
	call_ok(&c, 200, json_pack("{s:I, s:I, s:O}", "depth",
	    (json_int_t)res.depth, "count", (json_int_t)res.nvisited,
	    "messages", items));
out:
	json_decref(items);
	return call_finish(&c);
}

/* GET /api/integration/dlq/:n: message n (1-based) with its body. */
int
api_dlq_one(struct http_request *req)
{
	struct api_call		 c;
	struct atc_dlq_req	 dr;
	struct atc_dlq_result	 res;
	const char		*url;
	json_t			*holder = NULL, *msg;
	char			 err[ATC_ERRLEN];

	memset(&dr, 0, sizeof(dr));
	if (dlq_start(&c, req, HTTP_METHOD_GET) == -1)
		goto out;
	if (strncmp(req->path, DLQ_PREFIX, strlen(DLQ_PREFIX)) != 0 ||
	    dlq_parse_index(req->path + strlen(DLQ_PREFIX), &dr.index) == -1) {
		call_error(&c, 404, "not_found", "no such dead letter: the "
		    "index is a positive integer");
		goto out;
	}
	if ((url = dlq_url(&c)) == NULL)
		goto out;
	holder = json_object();
	dr.op = ATC_DLQ_SHOW;
	dr.visit = dlq_visit_show;
	dr.arg = holder;
	if (atc_dlq_run(url, DLQ_CONN_NAME, &dr, &res, err,
	    sizeof(err)) == -1) {
		dlq_fail(&c, err);
		goto out;
	}
	if ((msg = json_object_get(holder, "message")) == NULL) {
		call_error(&c, 404, "not_found", "no such dead letter");
		goto out;
	}
	(void)snprintf(c.uri, sizeof(c.uri), "%s", json_string_value(
	    json_object_get(msg, "uri")) ? json_string_value(
	    json_object_get(msg, "uri")) : "");
	call_ok(&c, 200, json_incref(msg));
out:
	json_decref(holder);
	return call_finish(&c);
}

/* Reads the selection: exactly one of {"all":true}, {"filter":"..."},
 * {"index":N}. 0, or -1 after setting the 422 answer. */
static int
dlq_selection(struct api_call *c, json_t *body, struct atc_dlq_req *dr)
{
	json_t		*all, *filter, *index, *errors;
	int		 nsel = 0;

	errors = json_object();
	if (!json_is_object(body)) {
		json_object_set_new(errors, "body", json_string("must be an "
		    "object with one of all, filter, index"));
		goto out;
	}
	all = json_object_get(body, "all");
	filter = json_object_get(body, "filter");
	index = json_object_get(body, "index");
	if (all != NULL) {
		nsel++;
		if (!json_is_true(all))
			json_object_set_new(errors, "all",
			    json_string("must be true"));
		dr->all = true;
	}
	if (filter != NULL) {
		nsel++;
		if (!json_is_string(filter) || json_string_length(filter) ==
		    0 || json_string_length(filter) > DLQ_FILTER_MAX ||
		    strlen(json_string_value(filter)) !=
		    json_string_length(filter))
			json_object_set_new(errors, "filter", json_string(
			    "must be a non-empty string of at most 512 bytes"));
		else
			dr->filter = json_string_value(filter);
	}
	if (index != NULL) {
		nsel++;
		if (!json_is_integer(index) || json_integer_value(index) < 1)
			json_object_set_new(errors, "index",
			    json_string("must be a positive integer"));
		else
			dr->index = (size_t)json_integer_value(index);
	}
	if (nsel != 1 && json_object_size(errors) == 0)
		json_object_set_new(errors, "body", json_string("give exactly "
		    "one of all, filter, index"));
out:
	if (json_object_size(errors) > 0) {
		call_invalid(c, errors);
		json_decref(errors);
		return -1;
	}
	json_decref(errors);
	return 0;
}

/* POST /api/integration/dlq/replay: republish the selection to the main
 * exchange; answers counts and the affected messages. */
int
api_dlq_replay(struct http_request *req)
{
	struct api_call		 c;
	struct atc_dlq_req	 dr;
	struct atc_dlq_result	 res;
	const char		*url;
	json_t			*body = NULL, *items = NULL;
	char			 err[ATC_ERRLEN];

	memset(&dr, 0, sizeof(dr));
	if (dlq_start(&c, req, HTTP_METHOD_POST) == -1 ||
	    call_body(&c, &body) == -1 || dlq_selection(&c, body, &dr) == -1 ||
	    (url = dlq_url(&c)) == NULL)
		goto out;
	items = json_array();
	dr.op = ATC_DLQ_REPLAY;
	dr.visit = dlq_visit_replay;
	dr.arg = items;
	if (atc_dlq_run(url, DLQ_CONN_NAME, &dr, &res, err,
	    sizeof(err)) == -1) {
		dlq_fail(&c, err);
		/* Replays before the failure are done: say how many. */
		json_object_set_new(c.doc, "replayed",
		    json_integer((json_int_t)res.nreplayed));
		goto out;
	}
	(void)snprintf(c.note, sizeof(c.note), "replayed=%zu skipped=%zu",
	    res.nreplayed, res.nskipped);
	if (dr.index > 0 && !res.found) {
		call_error(&c, 404, "not_found", "no such dead letter");
		goto out;
	}
	call_ok(&c, 200, json_pack("{s:I, s:I, s:I, s:O}", "depth",
	    (json_int_t)res.depth, "replayed", (json_int_t)res.nreplayed,
	    "skipped", (json_int_t)res.nskipped, "messages", items));
out:
	json_decref(body);
	json_decref(items);
	return call_finish(&c);
}
