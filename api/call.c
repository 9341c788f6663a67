/* SPDX-License-Identifier: ISC */
/*
 * The per-request context of every handler (struct api_call): collects
 * the outcome, then call_finish() answers and logs exactly one line, so
 * every answer is JSON and every rejected record is greppable by uri and
 * cause. Authentication, query parameters and body reading live here so
 * each route applies them the same way. Keys and bodies are never logged.
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
#include "call.h"
#include "db.h"
#include "guard.h"
#include "input.h"
#include "log.h"
#include "util.h"

void
call_init(struct api_call *c, struct http_request *req)
{
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->t0_ms = atc_mono_ms();
	c->status = 500;
}

void
call_error(struct api_call *c, int status, const char *error,
    const char *message)
{
	json_decref(c->doc);
	c->status = status;
	c->cause = error;
	c->doc = json_pack("{s:i, s:s, s:s}", "status", status, "error", error,
	    "message", message);
}

void
call_ok(struct api_call *c, int status, json_t *doc)
{
	json_decref(c->doc);
	c->status = status;
	c->doc = doc;
}

void
call_invalid(struct api_call *c, json_t *errors)
{
	call_ok(c, 422, json_pack("{s:i, s:s, s:O}", "status", 422, "error",
	    "validation_failed", "errors", errors));
	c->cause = "validation_failed";
}

void
call_db_error(struct api_call *c, struct atc_db *db, const char *err)
{
	char	q[ATC_ERRLEN + 8];

	if (db == NULL || atc_db_down(db)) {
		call_error(c, 503, "database_unavailable",
		    "database unavailable, retry later");
		c->retry_after = true;
	} else {
		atc_log_err("db_error", "tenant=%s uri=%s detail=%s",
		    c->tenant[0] ? c->tenant : "-", c->uri[0] ? c->uri : "-",
		    atc_log_quote(q, sizeof(q), err));
		call_error(c, 500, "internal_error", "database error");
	}
}

int
call_finish(struct api_call *c)
{
	struct http_request	*req = c->req;
	char			*body;
	const char		*rid = NULL;
	char			 uq[256], rq[640];
	enum atc_log_level	 level;

	body = c->text != NULL ? c->text : json_dumps(c->doc, JSON_COMPACT);
	http_response_header(req, "content-type", "application/json");
	if (c->retry_after)
		http_response_header(req, "retry-after", "5");
	if (c->status == 405)
		http_response_header(req, "allow", "GET, POST, DELETE");
	http_response(req, c->status, body, body != NULL ? strlen(body) : 0);
	guard_finish(c);
	if (c->quiet)
		level = ATC_LOG_DEBUG;
	else if (c->status >= 500 && c->status != 503)
		level = ATC_LOG_ERR;
	else if (c->status >= 400 && c->status != 404 && c->status != 424)
		level = ATC_LOG_WARN;
	else
		level = ATC_LOG_INFO;
	if (atc_log_enabled(level))
		atc_log(level, c->cause != NULL ? "request_rejected" :
		    "request", "method=%s path=%s status=%d tenant=%s uri=%s "
		    "request_id=%s ms=%llu%s%s%s%s",
		    http_method_text(req->method), req->path,
		    c->status, c->tenant[0] ? c->tenant : "-",
		    c->uri[0] ? atc_log_quote(uq, sizeof(uq), c->uri) : "-",
		    http_request_header(req, "x-request-id", &rid) &&
		    rid != NULL && *rid != '\0' ?
		    atc_log_quote(rq, sizeof(rq), rid) : "-",
		    (unsigned long long)(atc_mono_ms() - c->t0_ms),
		    c->cause ? " cause=" : "", c->cause ? c->cause : "",
		    c->note[0] ? " " : "", c->note);
	free(body);
	json_decref(c->doc);
	c->doc = NULL;
	c->text = NULL;
	return KORE_RESULT_OK;
}

int
call_method_not_allowed(struct api_call *c)
{
	call_error(c, 405, "method_not_allowed", "method not allowed");
	return call_finish(c);
}

int
call_qs(struct api_call *c, const char *name, char *out, size_t outlen)
{
	out[0] = '\0';
	if (c->req->query_string == NULL)
		return 0;
	if (api_qs_get(c->req->query_string, name, out, outlen) == -1) {
		call_error(c, 400, "bad_query", "query parameter badly "
		    "encoded or too long");
		return -1;
	}
	return 0;
}

int
call_auth(struct api_call *c)
{
	char		 qkey[300], *tenant = NULL;
	const char	*hdr = NULL, *tok = NULL;
	size_t		 len = 0, idx = 0;
	enum api_auth	 rc;

	if (guard_request(c) == -1)
		return -1;
	qkey[0] = '\0';
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
	rc = api_keys_match(api_keys(), tok, len, tenant, &idx);
	explicit_bzero(qkey, sizeof(qkey));
	if (rc == API_AUTH_BAD_KEY) {
		guard_auth_failed(c, "bad_key");
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
		guard_auth_failed(c, "forbidden");
		call_error(c, 403, "forbidden", "key not allowed for this "
		    "tenant");
		return -1;
	}
	return guard_key(c, idx);
}

int
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
		guard_limit(c, "body_size", (size_t)cfg->body_max);
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
			guard_limit(c, "body_size", (size_t)cfg->body_max);
			goto out;
		}
		atc_buf_append(&b, chunk, (size_t)n);
	}
	/* Depth, string and array limits on the raw text first; jansson
	 * rejects NUL bytes and invalid UTF-8 unless asked not to. */
	if (guard_json(c, b.data, b.len) == -1)
		goto out;
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
