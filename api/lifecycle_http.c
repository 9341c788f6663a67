/* SPDX-License-Identifier: ISC */
/*
 * Lifecycle endpoints: POST /api/integration/identity, /account, /profile
 * and /labels. They share one shape (auth, body, validation in
 * api/lifecycle.c, one database function call in api/store_life.c) and
 * answer 200 with the function's result. Identity, account and profile
 * messages come for the whole network: an unknown DID answers
 * {"known": false} after one index probe, is counted, and logs at debug
 * only, so the firehose's volume never floods the log.
 */
#include <sys/types.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "call.h"
#include "db.h"
#include "lifecycle.h"
#include "store_life.h"
#include "telemetry.h"
#include "util.h"

/* Route handlers: Kore finds them by name (the routes api.c renders). */
int	api_identity(struct http_request *);
int	api_account(struct http_request *);
int	api_profile(struct http_request *);
int	api_labels(struct http_request *);

struct life_route {
	enum api_life_kind	 kind;
	const char		*name;		/* metric and log kind */
	int			(*parse)(const json_t *, json_t **, json_t *);
};

static const struct life_route	routes[] = {
	[API_LIFE_IDENTITY] = { API_LIFE_IDENTITY, "identity",
	    lifecycle_identity },
	[API_LIFE_ACCOUNT] = { API_LIFE_ACCOUNT, "account",
	    lifecycle_account },
	[API_LIFE_PROFILE] = { API_LIFE_PROFILE, "profile",
	    lifecycle_profile },
	[API_LIFE_LABELS] = { API_LIFE_LABELS, "labels", lifecycle_labels },
};

/* The outcome of a result for metrics and the log line. */
static const char *
life_outcome(const struct life_route *r, const json_t *res)
{
	if (r->kind == API_LIFE_LABELS)
		return json_integer_value(json_object_get(res, "applied")) > 0 ?
		    "applied" : "stale";
	if (!json_is_true(json_object_get(res, "known")))
		return "unknown_did";
	if (json_is_true(json_object_get(res, "resolve")))
		return "resolve";
	return json_is_true(json_object_get(res, "applied")) ? "applied" :
	    "stale";
}

static int
life_handle(struct http_request *req, const struct life_route *r)
{
	struct api_call	 c;
	struct atc_db	*db = NULL;
	json_t		*body = NULL, *op = NULL, *res = NULL, *errors;
	const char	*uri, *outcome;
	char		 err[ATC_ERRLEN];

	call_init(&c, req);
	errors = json_object();
	if (req->method != HTTP_METHOD_POST) {
		json_decref(errors);
		return call_method_not_allowed(&c);
	}
	if (call_auth(&c) == -1 || call_body(&c, &body) == -1)
		goto out;
	uri = json_string_value(json_object_get(body, "did"));
	if (r->kind == API_LIFE_LABELS)
		uri = json_string_value(json_object_get(json_array_get(
		    json_is_array(body) ? body : json_object_get(body,
		    "labels"), 0), "uri"));
	if (uri != NULL)
		(void)snprintf(c.uri, sizeof(c.uri), "%s", uri);
	if (r->parse(body, &op, errors) == -1) {
		call_invalid(&c, errors);
		goto out;
	}
	if ((db = api_db()) == NULL || api_store_life(db, r->kind, c.tenant,
	    op, &res, err, sizeof(err)) == -1) {
		call_db_error(&c, db, err);
		goto out;
	}
	outcome = life_outcome(r, res);
	telemetry_lifecycle(r->name, outcome);
	c.quiet = strcmp(outcome, "unknown_did") == 0;
	(void)snprintf(c.note, sizeof(c.note), "kind=%s outcome=%s", r->name,
	    outcome);
	json_object_set_new(res, "success", json_true());
	call_ok(&c, 200, json_incref(res));
out:
	json_decref(res);
	json_decref(op);
	json_decref(errors);
	json_decref(body);
	return call_finish(&c);
}

int
api_identity(struct http_request *req)
{
	return life_handle(req, &routes[API_LIFE_IDENTITY]);
}

int
api_account(struct http_request *req)
{
	return life_handle(req, &routes[API_LIFE_ACCOUNT]);
}

int
api_profile(struct http_request *req)
{
	return life_handle(req, &routes[API_LIFE_PROFILE]);
}

int
api_labels(struct http_request *req)
{
	return life_handle(req, &routes[API_LIFE_LABELS]);
}
