/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: the API's syntax checks on text from query strings
 * and paths (api/input.c, api/oplist.c's slug reader). The input is one
 * string; each parser gets it whole. Oracles: a normalised date-time is
 * itself accepted and normalises to the same text; a parsed at-uri's parts
 * are non-empty and rebuild the input; decoded values never exceed their
 * buffer; a slug holds only [a-z0-9-].
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "oplist.h"
#include "util.h"
#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CAP	2049

static void
fail(const char *what)
{
	fprintf(stderr, "oracle: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s, did[CAP], coll[CAP], rkey[CAP], err[ATC_ERRLEN];
	char	 d1[64], d2[64], out[256], slug[API_SLUG_MAX + 1];
	char	 uri[3 * CAP + 8];
	double	 num;
	size_t	 i;

	if (len > 8192)
		return 0;
	s = malloc(len + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';

	if (api_aturi_parse(s, did, coll, rkey, CAP, err, sizeof(err)) == 0) {
		if (did[0] == '\0' || coll[0] == '\0' || rkey[0] == '\0')
			fail("at-uri part empty");
		(void)snprintf(uri, sizeof(uri), "at://%s/%s/%s", did, coll,
		    rkey);
		if (strcmp(uri, s) != 0)
			fail("at-uri parts do not rebuild it");
	}
	if (api_datetime_normalize(s, d1, sizeof(d1)) == 0) {
		if (api_datetime_normalize(d1, d2, sizeof(d2)) != 0)
			fail("normalised date-time refused");
		if (strcmp(d1, d2) != 0)
			fail("date-time normalisation not idempotent");
	}
	(void)api_tenant_ok(s);
	(void)api_number_parse(s, &num);
	(void)api_rev_ok(s);
	(void)api_source_type_ok(s);
	(void)api_attendee_status(s);
	if (api_qs_get(s, "sourceId", out, sizeof(out)) == 1 &&
	    strlen(out) >= sizeof(out))
		fail("query value overflows");
	if (api_pct_decode(s, len, out, sizeof(out)) == 0 &&
	    strlen(out) >= sizeof(out))
		fail("decoded value overflows");
	if (api_slug_from_url(s, slug, sizeof(slug)) == 0) {
		if (slug[0] == '\0')
			fail("empty slug");
		for (i = 0; slug[i] != '\0'; i++)
			if (strchr("abcdefghijklmnopqrstuvwxyz0123456789-",
			    slug[i]) == NULL)
				fail("slug holds other bytes");
	}
	free(s);
	return 0;
}
