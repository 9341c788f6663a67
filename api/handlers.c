/* SPDX-License-Identifier: ISC */
/*
 * Write endpoints of the integration API (OpenMeet-compatible events and
 * RSVPs, the batch endpoint, shadow-account claims) and the health probes.
 * A request body becomes operations (api/oplist.c) that the database
 * applies in one statement (api/store.c), so a single POST and a batch
 * share every rule; each answer and its one log line go through
 * struct api_call (api/call.c).
 */
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "call.h"
#include "db.h"
#include "guard.h"
#include "input.h"
#include "log.h"
#include "oplist.h"
#include "store.h"
#include "syntax.h"
#include "util.h"
#include "validate.h"

#define ATPROTO_PREFIX	"/api/integration/events/atproto/"

/* Route handlers: Kore finds them by name (the routes api.c renders). */
int	api_health_liveness(struct http_request *);
int	api_health_readiness(struct http_request *);
int	api_events(struct http_request *);
int	api_events_atproto(struct http_request *);
int	api_rsvps(struct http_request *);
int	api_batch(struct http_request *);
int	api_shadow_claim(struct http_request *);
int	api_not_found(struct http_request *);

static const char *
result_message(const json_t *r, const char *done)
{
	if (!json_is_true(json_object_get(r, "applied")))
		return "stale: a newer or equal revision is stored; ignored";
	if (json_is_true(json_object_get(r, "eventDeleted")))
		return "rsvp stored (event deleted)";
	return done;
}

/* The HTTP answer of one operation's database result. */
static json_t *
result_answer(const json_t *r, const char *done, int *status)
{
	const json_t	*v;
	json_t		*a;

	*status = (int)json_integer_value(json_object_get(r, "status"));
	if (*status == 424)
		return json_pack("{s:i, s:s, s:b, s:s}", "status", 424,
		    "error", "event_not_yet_known", "retryable", 1, "message",
		    "the RSVP's event is not known yet; retry later");
	if (*status != 202) {
		*status = 500;
		return json_pack("{s:i, s:s, s:s}", "status", 500, "error",
		    "internal_error", "message", "unexpected result");
	}
	a = json_pack("{s:b, s:s}", "success", 1, "message",
	    result_message(r, done));
	if ((v = json_object_get(r, "slug")) != NULL)
		json_object_set(a, "slug", (json_t *)v);
	if ((v = json_object_get(r, "attendeeId")) != NULL)
		json_object_set(a, "attendeeId", (json_t *)v);
	return a;
}

/* Applies one operation (taken over) and answers with its result. */
static void
apply_one(struct api_call *c, json_t *op, const char *done)
{
	struct atc_db	*db;
	json_t		*ops, *res = NULL, *r;
	const char	*method;
	char		 err[ATC_ERRLEN];
	uint64_t	 t0_ms = atc_mono_ms();
	size_t		 used;
	int		 status;

	ops = json_array();
	json_array_append_new(ops, op);
	if ((db = api_db()) == NULL ||
	    api_store_apply(db, c->tenant, ops, &res, err, sizeof(err)) == -1) {
		guard_applied(c, ops, NULL, t0_ms);
		call_db_error(c, db, err);
		goto out;
	}
	guard_applied(c, ops, res, t0_ms);
	r = json_array_get(res, 0);
	call_ok(c, 202, result_answer(r, done, &status));
	c->status = status;
	if (status == 424) {
		c->cause = "event_not_yet_known";
		c->retry_after = true;
	}
	method = json_string_value(json_object_get(r, "method"));
	used = strlen(c->note);
	(void)snprintf(c->note + used, sizeof(c->note) - used,
	    "%sapplied=%s%s%s", used ? " " : "",
	    json_is_true(json_object_get(r, "applied")) ? "yes" : "no",
	    method != NULL ? " dedup=" : "", method != NULL ? method : "");
out:
	json_decref(res);
	json_decref(ops);
}

static void
event_create(struct api_call *c)
{
	struct api_event	 ev;
	json_t			*body = NULL, *errors;

	errors = json_object();
	memset(&ev, 0, sizeof(ev));
	if (call_body(c, &body) == -1)
		goto out;
	if (api_event_from_json(body, &ev, errors) == -1) {
		if (ev.source_id != NULL)
			(void)snprintf(c->uri, sizeof(c->uri), "%s",
			    ev.source_id);
		call_invalid(c, errors);
		goto out;
	}
	(void)snprintf(c->uri, sizeof(c->uri), "%s", ev.source_id);
	apply_one(c, api_op_event_put(&ev, body), "event stored");
out:
	api_event_cleanup(&ev);
	json_decref(errors);
	json_decref(body);
}

/* Shared by both event DELETE forms and the RSVP DELETE. */
static void
record_delete(struct api_call *c, const char *source_id, bool rsvp)
{
	json_t	*errors;
	char	 stype[72], rev[80], err[ATC_ERRLEN];
	char	 did[CALL_URI_MAX], coll[512], rkey[600];
	bool	 parsed = false;

	errors = json_object();
	(void)snprintf(c->uri, sizeof(c->uri), "%s", source_id);
	if (call_qs(c, "sourceType", stype, sizeof(stype)) == -1 ||
	    call_qs(c, "rev", rev, sizeof(rev)) == -1)
		goto out;
	if (stype[0] == '\0')
		(void)snprintf(stype, sizeof(stype), "bluesky");
	if (!api_source_type_ok(stype))
		json_object_set_new(errors, "sourceType", json_string(
		    "must be one of bluesky, eventbrite, facebook, luma, "
		    "meetup, other, web"));
	if (source_id[0] == '\0')
		json_object_set_new(errors, "sourceId",
		    json_string("is required"));
	else if (strcmp(stype, "bluesky") == 0) {
		if (api_aturi_parse(source_id, did, coll, rkey, sizeof(coll),
		    err, sizeof(err)) == -1)
			json_object_set_new(errors, "sourceId",
			    json_string(err));
		else
			parsed = true;
	}
	if (rev[0] != '\0' && !api_rev_ok(rev))
		json_object_set_new(errors, "rev",
		    json_string("must be a repo revision (TID)"));
	if (json_object_size(errors) > 0) {
		call_invalid(c, errors);
		goto out;
	}
	apply_one(c, api_op_delete(rsvp, stype, source_id, parsed ? did :
	    NULL, parsed ? rkey : NULL, rev[0] ? rev : NULL), rsvp ?
	    "rsvp deleted" : "event deleted");
out:
	json_decref(errors);
}

static void
rsvp_create(struct api_call *c)
{
	struct api_rsvp	 rv;
	json_t		*body = NULL, *errors;

	errors = json_object();
	memset(&rv, 0, sizeof(rv));
	if (call_body(c, &body) == -1)
		goto out;
	if (api_rsvp_from_json(body, &rv, errors) == -1) {
		if (rv.source_id != NULL)
			(void)snprintf(c->uri, sizeof(c->uri), "%s",
			    rv.source_id);
		call_invalid(c, errors);
		goto out;
	}
	(void)snprintf(c->uri, sizeof(c->uri), "%s", rv.source_id);
	apply_one(c, api_op_rsvp_put(&rv), "rsvp stored");
out:
	api_rsvp_cleanup(&rv);
	json_decref(errors);
	json_decref(body);
}

int
api_events(struct http_request *req)
{
	struct api_call	c;
	char		sid[CALL_URI_MAX];

	call_init(&c, req);
	if (req->method != HTTP_METHOD_POST &&
	    req->method != HTTP_METHOD_DELETE)
		return call_method_not_allowed(&c);
	if (call_auth(&c) == -1 || guard_fault(&c) == -1)
		return call_finish(&c);
	if (req->method == HTTP_METHOD_POST)
		event_create(&c);
	else if (call_qs(&c, "sourceId", sid, sizeof(sid)) == 0)
		record_delete(&c, sid, false);
	return call_finish(&c);
}

int
api_events_atproto(struct http_request *req)
{
	struct api_call	 c;
	const char	*p, *s1, *s2;
	char		 did[CALL_URI_MAX], coll[512], rkey[600];
	char		 uri[CALL_URI_MAX];
	int		 n;

	call_init(&c, req);
	if (req->method != HTTP_METHOD_DELETE)
		return call_method_not_allowed(&c);
	if (call_auth(&c) == -1 || guard_fault(&c) == -1)
		return call_finish(&c);
	p = req->path + strlen(ATPROTO_PREFIX);
	/* The route's regex guarantees three non-empty segments. */
	if ((s1 = strchr(p, '/')) == NULL ||
	    (s2 = strchr(s1 + 1, '/')) == NULL ||
	    api_pct_decode(p, (size_t)(s1 - p), did, sizeof(did)) == -1 ||
	    api_pct_decode(s1 + 1, (size_t)(s2 - s1 - 1), coll,
	    sizeof(coll)) == -1 ||
	    api_pct_decode(s2 + 1, strlen(s2 + 1), rkey, sizeof(rkey)) == -1) {
		call_error(&c, 400, "bad_path", "path must be "
		    "/api/integration/events/atproto/:did/:collection/:rkey");
		return call_finish(&c);
	}
	n = snprintf(uri, sizeof(uri), "at://%s/%s/%s", did, coll, rkey);
	if (n < 0 || (size_t)n >= sizeof(uri)) {
		call_error(&c, 400, "bad_path", "path too long");
		return call_finish(&c);
	}
	record_delete(&c, uri, false);
	return call_finish(&c);
}

int
api_rsvps(struct http_request *req)
{
	struct api_call	c;
	char		sid[CALL_URI_MAX];

	call_init(&c, req);
	if (req->method != HTTP_METHOD_POST &&
	    req->method != HTTP_METHOD_DELETE)
		return call_method_not_allowed(&c);
	if (call_auth(&c) == -1 || guard_fault(&c) == -1)
		return call_finish(&c);
	if (req->method == HTTP_METHOD_POST)
		rsvp_create(&c);
	else if (call_qs(&c, "sourceId", sid, sizeof(sid)) == 0)
		record_delete(&c, sid, true);
	return call_finish(&c);
}

/* Fills the null slots of results (the valid items) from the database
 * results in order and counts the outcomes into c->note. */
static void
batch_merge(struct api_call *c, json_t *results, const json_t *dbres)
{
	json_t		*r, *a;
	size_t		 i, j = 0, used;
	int		 status, napplied = 0, nstale = 0, nretry = 0, nbad = 0;

	json_array_foreach(results, i, r) {
		if (!json_is_null(r)) {
			nbad++;
			json_object_set_new(r, "index", json_integer(
			    (json_int_t)i));
			continue;
		}
		a = result_answer(json_array_get(dbres, j), "stored", &status);
		if (status == 202 && strstr(json_string_value(json_object_get(
		    a, "message")), "stale") != NULL)
			nstale++;
		else if (status == 202)
			napplied++;
		else
			nretry++;
		json_object_set_new(a, "status", json_integer(status));
		json_object_set_new(a, "index", json_integer((json_int_t)i));
		json_array_set_new(results, i, a);
		j++;
	}
	used = strlen(c->note);
	(void)snprintf(c->note + used, sizeof(c->note) - used, "%sitems=%zu "
	    "applied=%d stale=%d retry=%d invalid=%d", used ? " " : "",
	    json_array_size(results),
	    napplied, nstale, nretry, nbad);
}

int
api_batch(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	json_t		*body = NULL, *errors, *ops = NULL, *results = NULL;
	json_t		*dbres = NULL;
	char		 err[ATC_ERRLEN];
	uint64_t	 t0_ms;

	call_init(&c, req);
	errors = json_object();
	if (req->method != HTTP_METHOD_POST) {
		json_decref(errors);
		return call_method_not_allowed(&c);
	}
	if (call_auth(&c) == -1 || guard_fault(&c) == -1 ||
	    call_body(&c, &body) == -1)
		goto out;
	if (json_array_size(json_object_get(body, "operations")) >
	    API_OPS_MAX) {
		guard_limit(&c, "batch_items", API_OPS_MAX);
		goto out;
	}
	if (api_batch_parse(body, &ops, &results, errors) == -1) {
		call_invalid(&c, errors);
		goto out;
	}
	t0_ms = atc_mono_ms();
	if (json_array_size(ops) > 0 && ((db = api_db()) == NULL ||
	    api_store_apply(db, c.tenant, ops, &dbres, err,
	    sizeof(err)) == -1)) {
		guard_applied(&c, ops, NULL, t0_ms);
		call_db_error(&c, db, err);
		goto out;
	}
	guard_applied(&c, ops, dbres, t0_ms);
	batch_merge(&c, results, dbres);
	{
		json_t	*r;
		size_t	 i;

		json_t		*items, *item;
		const char	*rid;
		char		 rq[640];

		/* Items whose event is not known yet are retried by the
		 * client: say when, as a single write would. Each item with
		 * its own request id gets its line, so a record's id reaches
		 * this log inside a batch too. */
		items = json_object_get(body, "operations");
		json_array_foreach(results, i, r) {
			if (json_integer_value(json_object_get(r,
			    "status")) == 424)
				c.retry_after = true;
			item = json_array_get(items, i);
			rid = json_string_value(json_object_get(item,
			    "requestId"));
			if (rid != NULL)
				atc_log_debug("batch_item", "request_id=%s "
				    "index=%zu status=%lld",
				    atc_log_quote(rq, sizeof(rq), rid), i,
				    (long long)json_integer_value(
				    json_object_get(r, "status")));
		}
	}
	call_ok(&c, 200, json_pack("{s:b, s:O}", "success", 1, "results",
	    results));
out:
	json_decref(dbres);
	json_decref(results);
	json_decref(ops);
	json_decref(errors);
	json_decref(body);
	return call_finish(&c);
}

int
api_shadow_claim(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	json_t		*body = NULL, *errors, *res = NULL;
	const json_t	*v;
	const char	*did = NULL, *slug = NULL, *handle = NULL;
	char		 err[ATC_ERRLEN];
	int		 status;

	call_init(&c, req);
	errors = json_object();
	if (req->method != HTTP_METHOD_POST) {
		json_decref(errors);
		return call_method_not_allowed(&c);
	}
	if (call_auth(&c) == -1 || call_body(&c, &body) == -1)
		goto out;
	if (!json_is_object(body)) {
		json_object_set_new(errors, "body",
		    json_string("must be a JSON object"));
		call_invalid(&c, errors);
		goto out;
	}
	did = json_string_value(json_object_get(body, "did"));
	if (did == NULL || strlen(did) > 2048 ||
	    atc_syntax_did(did, NULL, 0) == -1)
		json_object_set_new(errors, "did", json_string("must be a DID"));
	if ((v = json_object_get(body, "userSlug")) != NULL &&
	    !json_is_null(v) && ((slug = json_string_value(v)) == NULL ||
	    *slug == '\0' || strlen(slug) > 256))
		json_object_set_new(errors, "userSlug",
		    json_string("must be a user's slug"));
	if ((v = json_object_get(body, "handle")) != NULL &&
	    !json_is_null(v) && ((handle = json_string_value(v)) == NULL ||
	    atc_syntax_handle(handle, NULL, 0) == -1))
		json_object_set_new(errors, "handle",
		    json_string("must be a handle"));
	if (json_object_size(errors) > 0) {
		call_invalid(&c, errors);
		goto out;
	}
	(void)snprintf(c.uri, sizeof(c.uri), "%s", did);
	if ((db = api_db()) == NULL || api_store_claim(db, c.tenant, did,
	    slug, handle, &res, err, sizeof(err)) == -1) {
		call_db_error(&c, db, err);
		goto out;
	}
	status = (int)json_integer_value(json_object_get(res, "status"));
	if (status == 200) {
		json_object_set_new(res, "success", json_true());
		call_ok(&c, 200, json_incref(res));
	} else
		call_error(&c, status == 409 ? 409 : 404,
		    status == 409 ? "user_linked_to_another_did" :
		    slug != NULL ? "no_such_user" : "no_shadow_account",
		    status == 409 ? "that user is linked to another DID" :
		    "nothing to claim");
out:
	json_decref(res);
	json_decref(errors);
	json_decref(body);
	return call_finish(&c);
}

int
api_health_liveness(struct http_request *req)
{
	struct api_call	c;

	call_init(&c, req);
	c.quiet = true;
	call_ok(&c, 200, json_pack("{s:s}", "status", "ok"));
	return call_finish(&c);
}

int
api_health_readiness(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db;

	call_init(&c, req);
	c.quiet = true;
	if ((db = api_db()) == NULL || atc_db_ping(db) == -1) {
		call_error(&c, 503, "database_unavailable",
		    "database unreachable");
		c.quiet = false;
	} else
		call_ok(&c, 200, json_pack("{s:s, s:s}", "status", "ok",
		    "database", "up"));
	return call_finish(&c);
}

int
api_not_found(struct http_request *req)
{
	struct api_call	c;

	call_init(&c, req);
	call_error(&c, 404, "not_found", "no such route");
	return call_finish(&c);
}
