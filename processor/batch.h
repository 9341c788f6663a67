/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_BATCH_H
#define PROCESSOR_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "outcome.h"
#include "util.h"

struct atc_buf;
struct map_call;

/* Largest batch request body we build: well under the API's default
 * API_BODY_MAX (1 MiB). A bigger single item still goes alone. */
#define BATCH_MAX_BYTES		(512 * 1024)
/* Response bytes kept per item of a batch answer (plus one more item's
 * worth for the envelope); a longer answer is cut and not trusted. */
#define BATCH_RESP_PER_ITEM	4096

/* One item's answer inside a 2xx batch response. */
struct batch_answer {
	long	 status;	/* 202, 422, 424, ...; 0 = no result given */
	bool	 retryable;	/* the item said "retryable": true */
	char	 detail[ATC_ERRLEN];	/* compact "errors" object (422), or
					 * "error"/"message"; "" if none */
};

/* Appends c to the request body being built in b (which must start empty:
 * the first call writes the envelope's head). Pure. 0, or -1 (b untouched)
 * when c is not a mapped call. */
int	batch_body_add(struct atc_buf *b, const struct map_call *c,
	    const char *request_id);
/* Closes the body started by batch_body_add(). */
void	batch_body_finish(struct atc_buf *b);
/* Parses a 2xx batch response (len bytes, need not be NUL-terminated) for
 * a request of n items into out[0..n-1], placing each result by its
 * "index". Items the answer does not mention keep status 0. Pure. 0, or -1
 * and err when the body is not a batch response (the caller must not trust
 * any of it). */
int	batch_parse(struct batch_answer *out, size_t n, const void *body,
	    size_t len, char *err, size_t errlen);
/* The fate of one item, exactly as outcome_classify() decides it for a
 * single call with the same status; "retryable" and a missing result
 * retry. Pure. */
enum outcome	batch_outcome(const struct batch_answer *a);

#endif
