/* SPDX-License-Identifier: ISC */
/*
 * Read endpoints: the OpenMeet by-source lookup, the public event API
 * (listing with filters and cursor pagination, event by slug, its
 * attendees), users by DID, the shadow-account list, and the OpenAPI
 * document (api/openapi.yaml converted to JSON at build time and linked
 * in). Every route authenticates like the write routes and is tenant
 * scoped; query parameters are checked here, SQL lives in store_read.c.
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
#include "call.h"
#include "db.h"
#include "input.h"
#include "oplist.h"
#include "store_read.h"
#include "syntax.h"
#include "util.h"
#include "validate.h"

#define LIMIT_DEFAULT	50
#define LIMIT_MAX	200
#define TEXT_MAX	200

/* Generated from api/openapi.yaml by the Makefile (NUL-terminated). */
extern const unsigned char	api_openapi_json[];
extern const unsigned long	api_openapi_json_len;

int	api_events_by_source(struct http_request *);
int	api_events_list(struct http_request *);
int	api_event_by_slug(struct http_request *);
int	api_event_attendees(struct http_request *);
int	api_user_by_did(struct http_request *);
int	api_shadow_accounts(struct http_request *);
int	api_openapi(struct http_request *);

/* Strict decimal: digits only, no sign, fits a long long. */
static int
parse_ll(const char *s, size_t len, long long *out)
{
	char	buf[24], *end;

	if (len == 0 || len >= sizeof(buf) || strspn(s, "0123456789") < len)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* GET handlers start the same way: method, then auth. 0 go on, -1 the
 * answer is set. */
static int
read_start(struct api_call *c, struct http_request *req)
{
	call_init(c, req);
	if (req->method != HTTP_METHOD_GET) {
		call_error(c, 405, "method_not_allowed", "method not allowed");
		return -1;
	}
	return call_auth(c);
}

/* Answers with text (taken over) or 404 when NULL. */
static void
read_answer(struct api_call *c, char *text, const char *what)
{
	if (text == NULL)
		call_error(c, 404, "not_found", what);
	else {
		c->text = text;
		c->status = 200;
	}
}

/* The path segment after prefix, percent-decoded into out; -1 when the
 * path has no such (single, non-empty) segment. suffix follows it. */
static int
path_segment(const char *path, const char *prefix, const char *suffix,
    char *out, size_t outlen)
{
	const char	*p, *end;
	size_t		 plen = strlen(prefix), slen = strlen(suffix);

	if (strncmp(path, prefix, plen) != 0)
		return -1;
	p = path + plen;
	end = p + strlen(p);
	if ((size_t)(end - p) <= slen || strcmp(end - slen, suffix) != 0)
		return -1;
	end -= slen;
	if (memchr(p, '/', (size_t)(end - p)) != NULL)
		return -1;
	return api_pct_decode(p, (size_t)(end - p), out, outlen);
}

static int
slug_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= 256 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int
api_events_by_source(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	json_t		*errors;
	char		 stype[72], err[ATC_ERRLEN], *text = NULL;

	errors = json_object();
	if (read_start(&c, req) == -1 ||
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
	if ((db = api_db()) == NULL || api_store_event_by_source(db, c.tenant,
	    stype, c.uri, &text, err, sizeof(err)) == -1) {
		call_db_error(&c, db, err);
		goto out;
	}
	read_answer(&c, text, "no such event");
out:
	json_decref(errors);
	return call_finish(&c);
}

/* Reads the listing's query parameters into q (strings in bufs). */
static int
list_query(struct api_call *c, struct api_event_query *q, json_t *errors,
    char bufs[7][CALL_URI_MAX], char *from, char *to)
{
	static const char *const statuses[] = { "draft", "pending",
	    "published", "cancelled", NULL };
	static const char *const types[] = { "in-person", "online", "hybrid",
	    NULL };
	const char	*names[7] = { "from", "to", "status", "mode", "creator",
			    "q", "cursor" };
	const char	*dot;
	long long	 lim;
	char		 limit[16];
	size_t		 i;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < 7; i++)
		if (call_qs(c, names[i], bufs[i], CALL_URI_MAX) == -1)
			return -1;
	if (call_qs(c, "limit", limit, sizeof(limit)) == -1)
		return -1;
	if (bufs[0][0] != '\0') {
		if (api_datetime_normalize(bufs[0], from, API_DATE_LEN) == -1)
			json_object_set_new(errors, "from",
			    json_string("must be an ISO 8601 date-time"));
		q->from = from;
	}
	if (bufs[1][0] != '\0') {
		if (api_datetime_normalize(bufs[1], to, API_DATE_LEN) == -1)
			json_object_set_new(errors, "to",
			    json_string("must be an ISO 8601 date-time"));
		q->to = to;
	}
	if (bufs[2][0] != '\0') {
		q->status = bufs[2];
		for (i = 0; statuses[i] != NULL &&
		    strcmp(statuses[i], q->status) != 0; i++)
			;
		if (statuses[i] == NULL)
			json_object_set_new(errors, "status", json_string(
			    "must be draft, pending, published or cancelled"));
	}
	if (bufs[3][0] != '\0') {
		q->type = bufs[3];
		for (i = 0; types[i] != NULL &&
		    strcmp(types[i], q->type) != 0; i++)
			;
		if (types[i] == NULL)
			json_object_set_new(errors, "mode", json_string(
			    "must be in-person, online or hybrid"));
	}
	if (bufs[4][0] != '\0') {
		q->creator = bufs[4];
		if (atc_syntax_did(q->creator, NULL, 0) == -1)
			json_object_set_new(errors, "creator",
			    json_string("must be a DID"));
	}
	if (bufs[5][0] != '\0') {
		q->text = bufs[5];
		if (strlen(q->text) > TEXT_MAX)
			json_object_set_new(errors, "q",
			    json_string("must be at most 200 bytes"));
	}
	if (bufs[6][0] != '\0') {
		q->has_cursor = true;
		if ((dot = strchr(bufs[6], '.')) == NULL ||
		    parse_ll(bufs[6], (size_t)(dot - bufs[6]),
		    &q->after_us) == -1 ||
		    parse_ll(dot + 1, strlen(dot + 1), &q->after_id) == -1)
			json_object_set_new(errors, "cursor",
			    json_string("is not a cursor this API returned"));
	}
	q->limit = LIMIT_DEFAULT;
	if (limit[0] != '\0') {
		if (parse_ll(limit, strlen(limit), &lim) == -1 || lim < 1 ||
		    lim > LIMIT_MAX)
			json_object_set_new(errors, "limit",
			    json_string("must be 1 to 200"));
		else
			q->limit = (int)lim;
	}
	return 0;
}

int
api_events_list(struct http_request *req)
{
	struct api_call		 c;
	struct api_event_query	 q;
	struct atc_db		*db = NULL;
	json_t			*errors;
	char			 bufs[7][CALL_URI_MAX], err[ATC_ERRLEN];
	char			 from[API_DATE_LEN], to[API_DATE_LEN];
	char			*text = NULL;

	errors = json_object();
	if (read_start(&c, req) == -1 ||
	    list_query(&c, &q, errors, bufs, from, to) == -1)
		goto out;
	if (json_object_size(errors) > 0) {
		call_invalid(&c, errors);
		goto out;
	}
	if ((db = api_db()) == NULL || api_store_events_list(db, c.tenant, &q,
	    &text, err, sizeof(err)) == -1) {
		call_db_error(&c, db, err);
		goto out;
	}
	read_answer(&c, text, "no events");
out:
	json_decref(errors);
	return call_finish(&c);
}

/* /api/events/:slug and /api/events/:slug/attendees. */
static int
event_by_slug(struct http_request *req, bool attendees)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	char		 slug[300], err[ATC_ERRLEN], *text = NULL;
	int		 rc;

	if (read_start(&c, req) == -1)
		return call_finish(&c);
	if (path_segment(req->path, "/api/events/", attendees ?
	    "/attendees" : "", slug, sizeof(slug)) == -1 || !slug_ok(slug)) {
		call_error(&c, 404, "not_found", "no such event");
		return call_finish(&c);
	}
	if ((db = api_db()) == NULL)
		rc = -1;
	else if (attendees)
		rc = api_store_attendees(db, c.tenant, slug, &text, err,
		    sizeof(err));
	else
		rc = api_store_event_by_slug(db, c.tenant, slug, &text, err,
		    sizeof(err));
	if (rc == -1)
		call_db_error(&c, db, err);
	else
		read_answer(&c, text, "no such event");
	return call_finish(&c);
}

int
api_event_by_slug(struct http_request *req)
{
	return event_by_slug(req, false);
}

int
api_event_attendees(struct http_request *req)
{
	return event_by_slug(req, true);
}

int
api_user_by_did(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	char		 err[ATC_ERRLEN], *text = NULL;

	if (read_start(&c, req) == -1)
		return call_finish(&c);
	if (path_segment(req->path, "/api/users/", "", c.uri,
	    sizeof(c.uri)) == -1 || atc_syntax_did(c.uri, NULL, 0) == -1) {
		call_error(&c, 404, "not_found", "no such user");
		return call_finish(&c);
	}
	if ((db = api_db()) == NULL || api_store_user(db, c.tenant, c.uri,
	    &text, err, sizeof(err)) == -1)
		call_db_error(&c, db, err);
	else
		read_answer(&c, text, "no such user");
	return call_finish(&c);
}

int
api_shadow_accounts(struct http_request *req)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	json_t		*errors;
	char		 cur[24], limit[16], err[ATC_ERRLEN], *text = NULL;
	long long	 after = 0, lim = LIMIT_DEFAULT;

	errors = json_object();
	if (read_start(&c, req) == -1 ||
	    call_qs(&c, "cursor", cur, sizeof(cur)) == -1 ||
	    call_qs(&c, "limit", limit, sizeof(limit)) == -1)
		goto out;
	if (cur[0] != '\0' && parse_ll(cur, strlen(cur), &after) == -1)
		json_object_set_new(errors, "cursor",
		    json_string("is not a cursor this API returned"));
	if (limit[0] != '\0' && (parse_ll(limit, strlen(limit), &lim) == -1 ||
	    lim < 1 || lim > LIMIT_MAX))
		json_object_set_new(errors, "limit",
		    json_string("must be 1 to 200"));
	if (json_object_size(errors) > 0) {
		call_invalid(&c, errors);
		goto out;
	}
	if ((db = api_db()) == NULL || api_store_shadows(db, c.tenant, after,
	    (int)lim, &text, err, sizeof(err)) == -1) {
		call_db_error(&c, db, err);
		goto out;
	}
	read_answer(&c, text, "none");
out:
	json_decref(errors);
	return call_finish(&c);
}

int
api_openapi(struct http_request *req)
{
	struct api_call	c;

	call_init(&c, req);
	c.quiet = true;
	if (req->method != HTTP_METHOD_GET)
		return call_method_not_allowed(&c);
	c.text = atc_xstrndup((const char *)api_openapi_json,
	    api_openapi_json_len);
	c.status = 200;
	return call_finish(&c);
}
