/* SPDX-License-Identifier: ISC */
#ifndef API_CALL_H
#define API_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One HTTP request's context: the handlers fill in status, JSON document
 * and cause, and call_finish() sends the answer and logs exactly one line
 * (method, path, status, tenant, record uri, cause; never keys or bodies).
 * Kore's OK/ERROR convention stops at call_finish().
 */
struct http_request;
struct json_t;
struct atc_db;

#define CALL_URI_MAX	2100

struct api_call {
	struct http_request	*req;
	uint64_t		 t0_ms;
	char			 tenant[72];
	int			 status;
	struct json_t		*doc;		/* owned response body */
	char			*text;		/* owned body text, or NULL */
	const char		*cause;		/* log cause, NULL on success */
	char			 uri[CALL_URI_MAX];	/* record, for logs */
	char			 note[128];	/* extra logfmt pairs, or "" */
	bool			 retry_after;	/* send Retry-After: 5 */
	bool			 quiet;		/* log at debug (probes) */
};

void	call_init(struct api_call *, struct http_request *);
/* Sets a {status, error, message} answer (static strings). */
void	call_error(struct api_call *, int status, const char *error,
	    const char *message);
/* Sets the answer; takes ownership of doc. */
void	call_ok(struct api_call *, int status, struct json_t *doc);
/* 422 {status, error, errors}; errors is borrowed (copied). */
void	call_invalid(struct api_call *, struct json_t *errors);
/* Answer after a failed store call: 503 + Retry-After when the database
 * is unreachable (db NULL or down), else 500 (logged with err). */
void	call_db_error(struct api_call *, struct atc_db *db, const char *err);
/* Sends the answer, logs its line, frees the call. Returns KORE_RESULT_OK. */
int	call_finish(struct api_call *);
/* 405 with Allow; returns call_finish(). */
int	call_method_not_allowed(struct api_call *);

/* Decoded query parameter name into out (capacity outlen; "" when absent).
 * 0, or -1 after setting a 400 answer. */
int	call_qs(struct api_call *, const char *name, char *out,
	    size_t outlen);
/* Service key (Bearer header or ?api_key=) and x-tenant-id: 0 with
 * c->tenant set, or -1 after setting the 401/400/403 answer. */
int	call_auth(struct api_call *);
/* Reads the body (bounded by API_BODY_MAX) and parses it into *out (a new
 * reference). 0, or -1 after setting a 400/413 answer. */
int	call_body(struct api_call *, struct json_t **out);

#endif
