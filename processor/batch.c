/* SPDX-License-Identifier: ISC */
/*
 * The batch endpoint's wire format, pure: building the request body from
 * mapped calls (each item written by map_batch_item(), so a message maps
 * the same way alone or in a batch) and reading the per-item results back.
 * A response that is not exactly a batch answer is rejected as a whole, so
 * the caller never acks a message on a guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch.h"
#include "buf.h"
#include "map.h"
#include "outcome.h"

#define BODY_HEAD	"{\"operations\":["

int
batch_body_add(struct atc_buf *b, const struct map_call *c,
    const char *request_id)
{
	size_t	mark = b->len;

	atc_buf_puts(b, mark == 0 ? BODY_HEAD : ",");
	if (map_batch_item(b, c, request_id) == -1) {
		atc_buf_truncate(b, mark);
		return -1;
	}
	return 0;
}

void
batch_body_finish(struct atc_buf *b)
{
	if (b->len == 0)
		atc_buf_puts(b, BODY_HEAD);
	atc_buf_puts(b, "]}");
}

/* The item's explanation: its field errors, else its error or message. */
static void
answer_detail(struct batch_answer *a, const json_t *item)
{
	const json_t	*errors = json_object_get(item, "errors");
	const char	*s;
	char		*dump;

	a->detail[0] = '\0';
	if (json_is_object(errors) && (dump = json_dumps(errors,
	    JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
		(void)snprintf(a->detail, sizeof(a->detail), "%s", dump);
		free(dump);
		return;
	}
	if ((s = json_string_value(json_object_get(item, "error"))) == NULL)
		s = json_string_value(json_object_get(item, "message"));
	if (s != NULL)
		(void)snprintf(a->detail, sizeof(a->detail), "%s", s);
}

int
batch_parse(struct batch_answer *out, size_t n, const void *body,
    size_t len, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *results, *item, *v;
	size_t		 i, idx;
	int		 ret = -1;

	memset(out, 0, n * sizeof(*out));
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return atc_seterr(err, errlen, "batch answer: JSON: %s",
		    jerr.text);
	results = json_object_get(root, "results");
	if (!json_is_array(results)) {
		atc_seterr(err, errlen, "batch answer: no results array");
		goto out;
	}
	if (json_array_size(results) > n) {
		atc_seterr(err, errlen, "batch answer: %zu results for %zu "
		    "items", json_array_size(results), n);
		goto out;
	}
	json_array_foreach(results, i, item) {
		if (!json_is_object(item)) {
			atc_seterr(err, errlen, "batch answer: result %zu is "
			    "not an object", i);
			goto out;
		}
		v = json_object_get(item, "index");
		if (v != NULL && (!json_is_integer(v) ||
		    json_integer_value(v) < 0 ||
		    (size_t)json_integer_value(v) >= n)) {
			atc_seterr(err, errlen, "batch answer: result %zu has "
			    "a bad index", i);
			goto out;
		}
		idx = v != NULL ? (size_t)json_integer_value(v) : i;
		v = json_object_get(item, "status");
		if (!json_is_integer(v) || json_integer_value(v) < 100 ||
		    json_integer_value(v) > 599) {
			atc_seterr(err, errlen, "batch answer: result %zu has "
			    "no valid status", i);
			goto out;
		}
		if (out[idx].status != 0) {
			atc_seterr(err, errlen, "batch answer: index %zu "
			    "answered twice", idx);
			goto out;
		}
		out[idx].status = (long)json_integer_value(v);
		out[idx].retryable = json_is_true(json_object_get(item,
		    "retryable"));
		answer_detail(&out[idx], item);
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

enum outcome
batch_outcome(const struct batch_answer *a)
{
	if (a->status == 0 || (a->retryable && (a->status < 200 ||
	    a->status > 299)))
		return OUTCOME_RETRY;
	return outcome_classify(a->status);
}
