/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: one Jetstream JSON event through the consumer's
 * translation (consumer/jetstream.c) and, independently, through jansson
 * and the data-model validator applied to commit.record. Oracle: a
 * published body must be valid JSON.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "buf.h"
#include "jetstream.h"
#include "syntax.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const collections[] = {
	"community.lexicon.calendar.event",
	"community.lexicon.calendar.rsvp",
	"events.smokesignal.calendar.event",
	"events.smokesignal.calendar.rsvp",
	"app.bsky.feed.post",
	"app.bsky.feed.like",
	"app.bsky.graph.follow",
	NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jetstream_event	 ev;
	struct atc_buf		 body;
	json_error_t		 jerr;
	json_t			*v;
	char			 err[ATC_ERRLEN];

	atc_buf_init(&body, 512);
	if (jetstream_translate((const char *)data, len, collections, true,
	    "fuzz:1", &body, &ev, err, sizeof(err)) == JETSTREAM_PUBLISH) {
		if ((v = json_loadb((const char *)body.data, body.len, JSON_ALLOW_NUL,
		    &jerr)) == NULL) {
			fprintf(stderr, "published body is not JSON: %s\n",
			    jerr.text);
			abort();
		}
		json_decref(v);
	}
	atc_buf_cleanup(&body);

	if ((v = json_loadb((const char *)data, len, 0, &jerr)) != NULL) {
		(void)atc_datamodel_validate(json_object_get(
		    json_object_get(v, "commit"), "record"), err, sizeof(err));
		(void)atc_datamodel_validate(v, err, sizeof(err));
		json_decref(v);
	}
	return 0;
}
