/* SPDX-License-Identifier: ISC */
/*
 * HTTP handlers of the integration API. Each request gets one struct
 * api_call that collects the outcome (status, JSON document, cause, record
 * uri); call_finish() sends it and logs exactly one line, so every answer
 * is JSON and every rejected record is greppable by uri and cause. Keys and
 * bodies are never logged. Kore's OK/ERROR convention stops here.
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
#include "auth.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "input.h"
#include "util.h"
#include "validate.h"

#define QS_VAL_MAX	2100
#define ATPROTO_PREFIX	"/api/integration/events/atproto/"

/* Route handlers: Kore finds them by name (the routes api.c renders). */
int	api_health_liveness(struct http_request *);
int	api_health_readiness(struct http_request *);
int	api_events(struct http_request *);
int	api_events_atproto(struct http_request *);
int	api_rsvps(struct http_request *);
int	api_events_by_source(struct http_request *);
int	api_not_found(struct http_request *);

struct api_call {
	struct http_request	*req;
	uint64_t		 t0_ms;
	char			 tenant[72];
	int			 status;
	json_t			*doc;		/* owned response body */
	char			*text;		/* owned body text, or NULL */
	const char		*cause;		/* log cause, NULL on success */
	char			 uri[QS_VAL_MAX];	/* record, for logs */
	bool			 retry_after;	/* send Retry-After: 5 */
	bool			 quiet;		/* log at debug (probes) */
};

static void
call_init(struct api_call *c, struct http_request *req)
{
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->t0_ms = atc_mono_ms();
	c->status = 500;
}

static void
call_error(struct api_call *c, int status, const char *error,
    const char *message)
{
	json_decref(c->doc);
	c->status = status;
	c->cause = error;
	c->doc = json_pack("{s:i, s:s, s:s}", "status", status, "error", error,
	    "message", message);
}

static void
call_ok(struct api_call *c, int status, json_t *doc)
{
	json_decref(c->doc);
	c->status = status;
	c->doc = doc;
}

/* Answers from a failed store call: 503 when the database is gone. */
static void
call_db_error(struct api_call *c, struct atc_db *db, const char *err)
{
	char	q[ATC_ERRLEN + 8];

	if (db == NULL || atc_db_down(db)) {
		call_error(c, 503, "database_unavailable",
		    "database unavailable, retry later");
		c->retry_after = true;
	} else {
		atc_log_err("db_error", "tenant=%s uri=%s detail=%s",
		    c->tenant, c->uri[0] ? c->uri : "-",
		    atc_log_quote(q, sizeof(q), err));
		call_error(c, 500, "internal_error", "database error");
	}
}

static int
call_finish(struct api_call *c)
{
	struct http_request	*req = c->req;
	char			*body;
	char			 uq[256];
	enum atc_log_level	 level;

	body = c->text != NULL ? c->text : json_dumps(c->doc, JSON_COMPACT);
	http_response_header(req, "content-type", "application/json");
	if (c->retry_after)
		http_response_header(req, "retry-after", "5");
	if (c->status == 405)
		http_response_header(req, "allow", "GET, POST, DELETE");
	http_response(req, c->status, body, body != NULL ? strlen(body) : 0);
	if (c->quiet)
		level = ATC_LOG_DEBUG;
	else if (c->status >= 500 && c->status != 503)
		level = ATC_LOG_ERR;
	else if (c->status >= 400 && c->status != 404)
		level = ATC_LOG_WARN;
	else
		level = ATC_LOG_INFO;
	if (atc_log_enabled(level))
		atc_log(level, c->cause != NULL ? "request_rejected" :
		    "request", "method=%s path=%s status=%d tenant=%s uri=%s "
		    "ms=%llu%s%s", http_method_text(req->method), req->path,
		    c->status, c->tenant[0] ? c->tenant : "-",
		    c->uri[0] ? atc_log_quote(uq, sizeof(uq), c->uri) : "-",
		    (unsigned long long)(atc_mono_ms() - c->t0_ms),
		    c->cause ? " cause=" : "", c->cause ? c->cause : "");
	free(body);
	json_decref(c->doc);
	return KORE_RESULT_OK;
}

/* Query parameter into out; sets the answer and returns -1 when bad. */
static int
call_qs(struct api_call *c, const char *name, char *out, size_t outlen)
{
	int	rc;

	out[0] = '\0';
	if (c->req->query_string == NULL)
		return 0;
	rc = api_qs_get(c->req->query_string, name, out, outlen);
	if (rc == -1) {
		call_error(c, 400, "bad_query", "query parameter badly "
		    "encoded or too long");
		return -1;
	}
	return 0;
}

/* Key (Bearer header or ?api_key=) and tenant. 0 ok, -1 answered. */
static int
call_auth(struct api_call *c)
{
	char		 qkey[300], *tenant = NULL;
	const char	*hdr = NULL, *tok = NULL;
	size_t		 len = 0;
	enum api_auth	 rc;

	if (http_request_header(c->req, "authorization", &hdr)) {
		if (api_bearer_token(hdr, &tok, &len) == -1)
			tok = NULL;
	} else {
		if (call_qs(c, "api_key", qkey, sizeof(qkey)) == -1)
			return -1;
		if (qkey[0] != '\0') {
			tok = qkey;
			len = strlen(qkey);
		}
	}
	if (http_request_header(c->req, "x-tenant-id", &hdr))
		tenant = (char *)hdr;
	rc = api_keys_check(api_keys(), tok, len, tenant);
	explicit_bzero(qkey, sizeof(qkey));
	if (rc == API_AUTH_BAD_KEY) {
		call_error(c, 401, "unauthorized", "missing or invalid "
		    "service key");
		return -1;
	}
	if (tenant == NULL || *tenant == '\0') {
		call_error(c, 400, "missing_tenant", "x-tenant-id header is "
		    "required");
		return -1;
	}
	if (!api_tenant_ok(tenant)) {
		call_error(c, 400, "bad_tenant", "x-tenant-id must be 1-64 "
		    "characters of [A-Za-z0-9._-]");
		return -1;
	}
	(void)snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	if (rc == API_AUTH_FORBIDDEN) {
		call_error(c, 403, "forbidden", "key not allowed for this "
		    "tenant");
		return -1;
	}
	return 0;
}

/* Reads and parses the JSON body into *out. 0 ok, -1 answered. */
static int
call_body(struct api_call *c, json_t **out)
{
	struct http_request	*req = c->req;
	const struct api_config	*cfg = api_config();
	struct atc_buf		 b;
	json_error_t		 jerr;
	char			 chunk[8192], msg[256];
	ssize_t			 n;
	int			 ret = -1;

	*out = NULL;
	atc_buf_init(&b, 4096);
	if (req->http_body_length > (size_t)cfg->body_max) {
		call_error(c, 413, "body_too_large", "request body too large");
		goto out;
	}
	for (;;) {
		if ((n = http_body_read(req, chunk, sizeof(chunk))) == -1) {
			call_error(c, 400, "bad_body", "cannot read body");
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > (size_t)cfg->body_max) {
			call_error(c, 413, "body_too_large",
			    "request body too large");
			goto out;
		}
		atc_buf_append(&b, chunk, (size_t)n);
	}
	if ((*out = json_loadb((const char *)b.data, b.len, 0, &jerr)) ==
	    NULL) {
		(void)snprintf(msg, sizeof(msg), "malformed JSON: %s "
		    "(line %d, column %d)", jerr.text, jerr.line, jerr.column);
		call_error(c, 400, "malformed_json", msg);
		goto out;
	}
	ret = 0;
out:
	atc_buf_cleanup(&b);
	return ret;
}

static void
call_invalid(struct api_call *c, json_t *errors)
{
	call_ok(c, 422, json_pack("{s:i, s:s, s:O}", "status", 422, "error",
	    "validation_failed", "errors", errors));
	c->cause = "validation_failed";
}

static const char *
stale_or(const struct api_write *w, const char *msg)
{
	return w->applied ? msg : "stale: a newer or equal revision is "
	    "stored; ignored";
}

static void
event_create(struct api_call *c)
{
	struct api_event	 ev;
	struct api_write	 w;
	struct atc_db		*db = NULL;
	json_t			*body = NULL, *errors;
	char			 err[ATC_ERRLEN];

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
	if ((db = api_db()) == NULL ||
	    api_store_event_upsert(db, c->tenant, &ev, &w, err,
	    sizeof(err)) == -1) {
		call_db_error(c, db, err);
		goto out;
	}
	call_ok(c, 202, json_pack("{s:b, s:s, s:s}", "success", 1, "message",
	    stale_or(&w, "event stored"), "slug", w.slug));
out:
	api_event_cleanup(&ev);
	json_decref(errors);
	json_decref(body);
}

/* Shared by both event DELETE forms and the RSVP DELETE. */
static void
record_delete(struct api_call *c, const char *source_id, bool rsvp)
{
	struct api_write	 w;
	struct atc_db		*db = NULL;
	json_t			*errors;
	char			 stype[72], rev[80], err[ATC_ERRLEN];
	char			 did[2100], coll[512], rkey[600];

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
	else if (strcmp(stype, "bluesky") == 0 && api_aturi_parse(source_id,
	    did, coll, rkey, sizeof(coll), err, sizeof(err)) == -1)
		json_object_set_new(errors, "sourceId", json_string(err));
	if (rev[0] != '\0' && !api_rev_ok(rev))
		json_object_set_new(errors, "rev",
		    json_string("must be a repo revision (TID)"));
	if (json_object_size(errors) > 0) {
		call_invalid(c, errors);
		goto out;
	}
	if ((db = api_db()) == NULL || (rsvp ?
	    api_store_rsvp_delete(db, c->tenant, stype, source_id,
	    rev[0] ? rev : NULL, &w, err, sizeof(err)) :
	    api_store_event_delete(db, c->tenant, stype, source_id,
	    rev[0] ? rev : NULL, &w, err, sizeof(err))) == -1) {
		call_db_error(c, db, err);
		goto out;
	}
	call_ok(c, 202, json_pack("{s:b, s:s}", "success", 1, "message",
	    stale_or(&w, rsvp ? "rsvp deleted" : "event deleted")));
out:
	json_decref(errors);
}

static void
rsvp_create(struct api_call *c)
{
	struct api_rsvp		 rv;
	struct api_write	 w;
	struct atc_db		*db = NULL;
	json_t			*body = NULL, *errors;
	char			 err[ATC_ERRLEN];

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
	if ((db = api_db()) == NULL ||
	    api_store_rsvp_upsert(db, c->tenant, &rv, &w, err,
	    sizeof(err)) == -1) {
		call_db_error(c, db, err);
		goto out;
	}
	if (w.event_missing) {
		call_ok(c, 424, json_pack("{s:i, s:s, s:b, s:s}", "status", 424,
		    "error", "event_not_yet_known", "retryable", 1, "message",
		    "the RSVP's event is not known yet; retry later"));
		c->cause = "event_not_yet_known";
		c->retry_after = true;
		goto out;
	}
	call_ok(c, 202, json_pack("{s:b, s:s, s:I}", "success", 1, "message",
	    stale_or(&w, w.event_deleted ? "rsvp stored (event deleted)" :
	    "rsvp stored"), "attendeeId", (json_int_t)w.attendee_id));
out:
	api_rsvp_cleanup(&rv);
	json_decref(errors);
	json_decref(body);
}

static int
method_not_allowed(struct api_call *c)
{
	call_error(c, 405, "method_not_allowed", "method not allowed");
	return call_finish(c);
}

int
api_events(struct http_request *req)
{
	struct api_call	c;
	char		sid[QS_VAL_MAX];

	call_init(&c, req);
	if (req->method != HTTP_METHOD_POST &&
	    req->method != HTTP_METHOD_DELETE)
		return method_not_allowed(&c);
	if (call_auth(&c) == -1)
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
	char		 did[QS_VAL_MAX], coll[512], rkey[600], uri[QS_VAL_MAX];
	int		 n;

	call_init(&c, req);
	if (req->method != HTTP_METHOD_DELETE)
		return method_not_allowed(&c);
	if (call_auth(&c) == -1)
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
	char		sid[QS_VAL_MAX];

	call_init(&c, req);
	if (req->method != HTTP_METHOD_POST &&
	    req->method != HTTP_METHOD_DELETE)
		return method_not_allowed(&c);
	if (call_auth(&c) == -1)
		return call_finish(&c);
	if (req->method == HTTP_METHOD_POST)
		rsvp_create(&c);
	else if (call_qs(&c, "sourceId", sid, sizeof(sid)) == 0)
		record_delete(&c, sid, true);
	return call_finish(&c);
}

int
api_events_by_source(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	json_t		*errors;
	char		 stype[72], err[ATC_ERRLEN];

	call_init(&c, req);
	errors = json_object();
	if (req->method != HTTP_METHOD_GET) {
		json_decref(errors);
		return method_not_allowed(&c);
	}
	if (call_auth(&c) == -1 ||
	    call_qs(&c, "sourceType", stype, sizeof(stype)) == -1 ||
	    call_qs(&c, "sourceId", c.uri, sizeof(c.uri)) == -1)
		goto out;
	if (stype[0] == '\0')
		(void)snprintf(stype, sizeof(stype), "bluesky");
	if (!api_source_type_ok(stype))
		json_object_set_new(errors, "sourceType",
		    json_string("unknown source type"));
	if (c.uri[0] == '\0')
		json_object_set_new(errors, "sourceId",
		    json_string("is required"));
	if (json_object_size(errors) > 0) {
		call_invalid(&c, errors);
		goto out;
	}
	if ((db = api_db()) == NULL || api_store_event_get(db, c.tenant,
	    stype, c.uri, &c.text, err, sizeof(err)) == -1) {
		call_db_error(&c, db, err);
		goto out;
	}
	if (c.text == NULL)
		call_error(&c, 404, "not_found", "no such event");
	else
		c.status = 200;
out:
	json_decref(errors);
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
