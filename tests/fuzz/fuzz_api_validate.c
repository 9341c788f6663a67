/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: one request body through the API's pure path as the
 * write handlers run it: the raw-text limit scan, the JSON parse, the
 * ExternalEventDto and ExternalRsvpDto validators, the mapping of a valid
 * DTO to its database operation, the dedup keys and the batch parser.
 * Oracles: a DTO is valid iff it reports no field error; a valid one maps
 * to an operation that serialises to JSON; the batch parser returns one
 * result per item.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "input.h"
#include "oplist.h"
#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct api_json_limits limits = {
	.depth_max = 32, .string_max = 65536, .items_max = 1000,
};

static void
fail(const char *what)
{
	fprintf(stderr, "oracle: %s\n", what);
	abort();
}

/* The operation of a valid DTO must serialise. */
static void
check_op(json_t *op)
{
	char	*text;

	if (op == NULL)
		fail("valid DTO mapped to no operation");
	if ((text = json_dumps(op, JSON_COMPACT)) == NULL)
		fail("operation does not serialise");
	free(text);
	json_decref(op);
}

static void
check_event(const json_t *body)
{
	struct api_event	 ev;
	json_t			*errors, *urls, *slugs;
	int			 rc;

	memset(&ev, 0, sizeof(ev));
	errors = json_object();
	rc = api_event_from_json(body, &ev, errors);
	if ((rc == 0) != (json_object_size(errors) == 0))
		fail("event validity disagrees with its field errors");
	if (rc == 0) {
		if (ev.name == NULL || ev.start_date[0] == '\0' ||
		    ev.source_id == NULL)
			fail("valid event without name, start or source");
		check_op(api_op_event_put(&ev, body));
	}
	api_event_cleanup(&ev);
	json_decref(errors);
	urls = json_array();
	slugs = json_array();
	api_dedup_keys(body, urls, slugs);
	if (json_array_size(slugs) > json_array_size(urls))
		fail("more slugs than urls");
	json_decref(urls);
	json_decref(slugs);
}

static void
check_rsvp(const json_t *body)
{
	struct api_rsvp	 rv;
	json_t		*errors;
	int		 rc;

	memset(&rv, 0, sizeof(rv));
	errors = json_object();
	rc = api_rsvp_from_json(body, &rv, errors);
	if ((rc == 0) != (json_object_size(errors) == 0))
		fail("RSVP validity disagrees with its field errors");
	if (rc == 0) {
		if (rv.attendee_status == NULL || rv.source_id == NULL)
			fail("valid RSVP without attendee status or source");
		check_op(api_op_rsvp_put(&rv));
	}
	api_rsvp_cleanup(&rv);
	json_decref(errors);
}

static void
check_batch(const json_t *body)
{
	json_t	*ops = NULL, *results = NULL, *errors, *items;

	errors = json_object();
	if (api_batch_parse(body, &ops, &results, errors) == 0) {
		items = json_object_get(body, "operations");
		if (!json_is_array(results) || !json_is_array(ops) ||
		    json_array_size(results) != json_array_size(items) ||
		    json_array_size(ops) > json_array_size(items))
			fail("batch results do not match its items");
		json_decref(ops);
		json_decref(results);
	} else if (json_object_size(errors) == 0)
		fail("batch refused without an error");
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct api_limit_hit	 hit;
	json_error_t		 jerr;
	json_t			*body;

	/* The handlers parse only bodies within the limits. */
	if (api_json_limits_check((const char *)data, len, &limits,
	    &hit) == -1) {
		if (hit.limit == NULL || (hit.status != 413 &&
		    hit.status != 422))
			fail("limit hit without name or 4xx status");
		return 0;
	}
	if ((body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return 0;
	check_event(body);
	check_rsvp(body);
	check_batch(body);
	json_decref(body);
	return 0;
}
