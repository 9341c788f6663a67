/* SPDX-License-Identifier: ISC */
/*
 * ExternalEventDto / ExternalRsvpDto validation. Each field is checked
 * independently and every failure is recorded, so one 422 names all bad
 * fields. Coordinates may be numbers or numeric strings, "0" included
 * (the lexicon sends strings: OpenMeet failure 3); every location is kept
 * as given (failure 9). Outputs borrow strings from the caller's JSON.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "input.h"
#include "syntax.h"
#include "util.h"
#include "validate.h"

#define NAME_MAX_LEN	3000
#define DESC_MAX_LEN	100000
#define ID_MAX_LEN	2048
#define URL_MAX_LEN	2048
#define HANDLE_MAX_LEN	253
#define CATS_MAX	100
#define CAT_MAX_LEN	256
#define LOCS_MAX	50
#define URIS_MAX	50

static const char *const source_types[] = { "bluesky", "eventbrite",
    "facebook", "luma", "meetup", "other", "web", NULL };
static const char *const event_types[] = { "in-person", "online", "hybrid",
    NULL };
static const char *const event_statuses[] = { "draft", "pending",
    "published", "cancelled", NULL };
static const char *const visibilities[] = { "public", "unlisted", "private",
    NULL };
static const char *const rsvp_statuses[] = { "going", "interested",
    "notgoing", NULL };

static void
fail(json_t *errors, const char *field, const char *msg)
{
	if (json_object_get(errors, field) == NULL)
		json_object_set_new(errors, field, json_string(msg));
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/*
 * Reads optional (or required) string member key of obj into *out (NULL
 * when absent or null). Returns 0, or -1 after recording the problem.
 */
static int
get_str(const json_t *obj, const char *key, const char *field, bool required,
    size_t maxlen, json_t *errors, const char **out)
{
	const json_t	*v = json_object_get(obj, key);
	char		 msg[96];

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		fail(errors, field, "is required");
		return -1;
	}
	if (!json_is_string(v)) {
		fail(errors, field, "must be a string");
		return -1;
	}
	if (json_string_length(v) > maxlen) {
		(void)snprintf(msg, sizeof(msg), "must be at most %zu bytes",
		    maxlen);
		fail(errors, field, msg);
		return -1;
	}
	if (required && json_string_length(v) == 0) {
		fail(errors, field, "must not be empty");
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static void
get_enum(const json_t *obj, const char *key, const char *const *list,
    const char *def, json_t *errors, const char **out)
{
	char	msg[160];
	size_t	i;
	int	n;

	if (get_str(obj, key, key, false, 64, errors, out) == -1)
		return;
	if (*out == NULL) {
		*out = def;
		return;
	}
	if (in_list(*out, list))
		return;
	n = snprintf(msg, sizeof(msg), "must be one of");
	for (i = 0; list[i] != NULL && n > 0 && (size_t)n < sizeof(msg); i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s %s",
		    i ? "," : "", list[i]);
	fail(errors, key, msg);
	*out = NULL;
}

static void
get_date(const json_t *obj, const char *key, bool required, char *out,
    json_t *errors)
{
	const char	*s;

	out[0] = '\0';
	if (get_str(obj, key, key, required, 64, errors, &s) == -1 || s == NULL)
		return;
	if (api_datetime_normalize(s, out, API_DATE_LEN) == -1) {
		out[0] = '\0';
		fail(errors, key, "must be an ISO 8601 date-time");
	}
}

static char *
dump(const json_t *v)
{
	char	*s;

	/* Only fails on out of memory: treat as such. */
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		abort();
	return s;
}

/* Checks a coordinate member: number, or string holding a number. */
static void
check_coord(const json_t *loc, const char *key, double bound,
    const char *prefix, json_t *errors)
{
	const json_t	*v = json_object_get(loc, key);
	char		 field[64];
	double		 d = 0;
	bool		 ok;

	if (v == NULL || json_is_null(v))
		return;
	(void)snprintf(field, sizeof(field), "%s.%s", prefix, key);
	if (json_is_number(v)) {
		d = json_number_value(v);
		ok = true;
	} else if (json_is_string(v))
		ok = api_number_parse(json_string_value(v), &d);
	else
		ok = false;
	if (!ok)
		fail(errors, field, "must be a number or a numeric string");
	else if (d < -bound || d > bound)
		fail(errors, field, bound == 90 ? "must be within [-90, 90]" :
		    "must be within [-180, 180]");
}

static void
check_location(const json_t *loc, const char *prefix, json_t *errors)
{
	static const char *const strs[] = { "description", "name", "url", "uri",
	    "$type", NULL };
	const char	*s;
	char		 field[64];
	size_t		 i;

	if (!json_is_object(loc)) {
		fail(errors, prefix, "must be an object");
		return;
	}
	check_coord(loc, "lat", 90, prefix, errors);
	check_coord(loc, "latitude", 90, prefix, errors);
	check_coord(loc, "lon", 180, prefix, errors);
	check_coord(loc, "longitude", 180, prefix, errors);
	for (i = 0; strs[i] != NULL; i++) {
		(void)snprintf(field, sizeof(field), "%s.%s", prefix, strs[i]);
		(void)get_str(loc, strs[i], field, false, URL_MAX_LEN, errors,
		    &s);
	}
}

static void
event_locations(const json_t *body, struct api_event *ev, json_t *errors)
{
	const json_t	*locs = json_object_get(body, "locations");
	const json_t	*loc = json_object_get(body, "location");
	json_t		*arr;
	size_t		 i;
	char		 prefix[32];

	if (loc != NULL && !json_is_null(loc))
		check_location(loc, "location", errors);
	if (locs != NULL && !json_is_null(locs)) {
		if (!json_is_array(locs))
			fail(errors, "locations", "must be an array");
		else if (json_array_size(locs) > LOCS_MAX)
			fail(errors, "locations", "too many entries (max 50)");
		else
			for (i = 0; i < json_array_size(locs); i++) {
				(void)snprintf(prefix, sizeof(prefix),
				    "locations[%zu]", i);
				check_location(json_array_get(locs, i), prefix,
				    errors);
			}
		ev->locations_json = dump(locs);
	} else if (loc != NULL && !json_is_null(loc)) {
		arr = json_array();
		json_array_append(arr, (json_t *)loc);
		ev->locations_json = dump(arr);
		json_decref(arr);
	} else
		ev->locations_json = atc_xstrdup("[]");
}

/* Optional array of strings (or of objects when objects_ok). */
static char *
string_array(const json_t *body, const char *key, size_t maxn, size_t maxlen,
    bool objects_ok, json_t *errors)
{
	const json_t	*a = json_object_get(body, key), *v;
	char		 field[48];
	size_t		 i;

	if (a == NULL || json_is_null(a))
		return atc_xstrdup("[]");
	if (!json_is_array(a) || json_array_size(a) > maxn) {
		fail(errors, key, json_is_array(a) ? "too many entries" :
		    "must be an array");
		return atc_xstrdup("[]");
	}
	json_array_foreach(a, i, v) {
		(void)snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if (json_is_string(v) && json_string_length(v) <= maxlen)
			continue;
		if (objects_ok && json_is_object(v))
			continue;
		fail(errors, field, json_is_string(v) ? "too long" :
		    "must be a string");
	}
	return dump(a);
}

static void
event_source(const json_t *body, struct api_event *ev, json_t *errors)
{
	const json_t	*src = json_object_get(body, "source"), *meta, *raw;
	const char	*did = NULL;
	char		 coll[512], rkey[600], e[ATC_ERRLEN];

	ev->metadata_json = atc_xstrdup("{}");
	if (src == NULL || json_is_null(src)) {
		fail(errors, "source", "is required");
		return;
	}
	if (!json_is_object(src)) {
		fail(errors, "source", "must be an object");
		return;
	}
	if (get_str(src, "type", "source.type", true, 64, errors,
	    &ev->source_type) == 0 && !api_source_type_ok(ev->source_type)) {
		fail(errors, "source.type", "must be one of bluesky, "
		    "eventbrite, facebook, luma, meetup, other, web");
		ev->source_type = NULL;
	}
	if (get_str(src, "id", "source.id", true, ID_MAX_LEN, errors,
	    &ev->source_id) == 0 && ev->source_type != NULL &&
	    strcmp(ev->source_type, "bluesky") == 0) {
		if (api_aturi_parse(ev->source_id, ev->creator_buf, coll, rkey,
		    sizeof(coll), e, sizeof(e)) == -1)
			fail(errors, "source.id", e);
		else
			ev->creator_did = ev->creator_buf;
	}
	(void)get_str(src, "url", "source.url", false, URL_MAX_LEN, errors,
	    &ev->source_url);
	(void)get_str(src, "handle", "source.handle", false, HANDLE_MAX_LEN,
	    errors, &ev->source_handle);
	meta = json_object_get(src, "metadata");
	if (meta != NULL && !json_is_null(meta)) {
		if (!json_is_object(meta))
			fail(errors, "source.metadata", "must be an object");
		else {
			free(ev->metadata_json);
			ev->metadata_json = dump(meta);
			if (get_str(meta, "rev", "source.metadata.rev", false,
			    64, errors, &ev->rev) == 0 && ev->rev != NULL &&
			    !api_rev_ok(ev->rev)) {
				fail(errors, "source.metadata.rev",
				    "must be a repo revision (TID)");
				ev->rev = NULL;
			}
			if (get_str(meta, "did", "source.metadata.did", false,
			    ID_MAX_LEN, errors, &did) == 0 && did != NULL &&
			    ev->creator_did != NULL &&
			    strcmp(did, ev->creator_did) != 0)
				fail(errors, "source.metadata.did",
				    "does not match the DID of source.id");
		}
	}
	raw = json_object_get(src, "rawRecord");
	if (raw != NULL && !json_is_null(raw)) {
		if (!json_is_object(raw))
			fail(errors, "source.rawRecord", "must be an object");
		else
			ev->raw_record_json = dump(raw);
	}
}

int
api_event_from_json(const json_t *body, struct api_event *ev, json_t *errors)
{
	const char	*s;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(body)) {
		fail(errors, "body", "must be a JSON object");
		return -1;
	}
	if (get_str(body, "name", "name", true, NAME_MAX_LEN, errors,
	    &ev->name) == 0 && strspn(ev->name, " \t\r\n") ==
	    strlen(ev->name))
		fail(errors, "name", "must not be blank");
	(void)get_str(body, "description", "description", false, DESC_MAX_LEN,
	    errors, &ev->description);
	get_date(body, "startDate", true, ev->start_date, errors);
	get_date(body, "endDate", false, ev->end_date, errors);
	get_enum(body, "type", event_types, "in-person", errors, &ev->type);
	get_enum(body, "status", event_statuses, "published", errors,
	    &ev->status);
	get_enum(body, "visibility", visibilities, "public", errors,
	    &ev->visibility);
	(void)get_str(body, "timeZone", "timeZone", false, 64, errors, &s);
	ev->categories_json = string_array(body, "categories", CATS_MAX,
	    CAT_MAX_LEN, false, errors);
	ev->uris_json = string_array(body, "uris", URIS_MAX, URL_MAX_LEN, true,
	    errors);
	event_locations(body, ev, errors);
	event_source(body, ev, errors);
	return json_object_size(errors) == 0 ? 0 : -1;
}

void
api_event_cleanup(struct api_event *ev)
{
	free(ev->locations_json);
	free(ev->uris_json);
	free(ev->categories_json);
	free(ev->metadata_json);
	free(ev->raw_record_json);
	ev->locations_json = ev->uris_json = ev->categories_json = NULL;
	ev->metadata_json = ev->raw_record_json = NULL;
}

int
api_rsvp_from_json(const json_t *body, struct api_rsvp *rv, json_t *errors)
{
	const json_t	*meta;
	char		 did[2049], coll[512], rkey[600], e[ATC_ERRLEN];
	bool		 bsky;

	memset(rv, 0, sizeof(*rv));
	rv->metadata_json = atc_xstrdup("{}");
	if (!json_is_object(body)) {
		fail(errors, "body", "must be a JSON object");
		return -1;
	}
	if (get_str(body, "eventSourceType", "eventSourceType", true, 64,
	    errors, &rv->event_source_type) == 0 &&
	    !api_source_type_ok(rv->event_source_type)) {
		fail(errors, "eventSourceType", "must be one of bluesky, "
		    "eventbrite, facebook, luma, meetup, other, web");
		rv->event_source_type = NULL;
	}
	bsky = rv->event_source_type != NULL &&
	    strcmp(rv->event_source_type, "bluesky") == 0;
	if (get_str(body, "eventSourceId", "eventSourceId", true, ID_MAX_LEN,
	    errors, &rv->event_source_id) == 0 && bsky &&
	    api_aturi_parse(rv->event_source_id, did, coll, rkey, sizeof(coll),
	    e, sizeof(e)) == -1)
		fail(errors, "eventSourceId", e);
	if (get_str(body, "userDid", "userDid", true, ID_MAX_LEN, errors,
	    &rv->user_did) == 0 &&
	    atc_syntax_did(rv->user_did, NULL, 0) == -1) {
		fail(errors, "userDid", "must be a DID");
		rv->user_did = NULL;
	}
	(void)get_str(body, "userHandle", "userHandle", false, HANDLE_MAX_LEN,
	    errors, &rv->user_handle);
	get_enum(body, "status", rsvp_statuses, "going", errors, &rv->status);
	if (rv->status != NULL)
		rv->attendee_status = api_attendee_status(rv->status);
	get_date(body, "timestamp", false, rv->timestamp, errors);
	if (get_str(body, "sourceId", "sourceId", true, ID_MAX_LEN, errors,
	    &rv->source_id) == 0 && bsky) {
		if (api_aturi_parse(rv->source_id, did, coll, rkey,
		    sizeof(coll), e, sizeof(e)) == -1)
			fail(errors, "sourceId", e);
		else if (rv->user_did != NULL && strcmp(did, rv->user_did) != 0)
			fail(errors, "sourceId", "DID does not match userDid");
	}
	meta = json_object_get(body, "metadata");
	if (meta != NULL && !json_is_null(meta)) {
		if (!json_is_object(meta))
			fail(errors, "metadata", "must be an object");
		else {
			free(rv->metadata_json);
			rv->metadata_json = dump(meta);
			if (get_str(meta, "rev", "metadata.rev", false, 64,
			    errors, &rv->rev) == 0 && rv->rev != NULL &&
			    !api_rev_ok(rv->rev)) {
				fail(errors, "metadata.rev",
				    "must be a repo revision (TID)");
				rv->rev = NULL;
			}
		}
	}
	return json_object_size(errors) == 0 ? 0 : -1;
}

void
api_rsvp_cleanup(struct api_rsvp *rv)
{
	free(rv->metadata_json);
	rv->metadata_json = NULL;
}

int
api_source_type_ok(const char *s)
{
	return in_list(s, source_types);
}

int
api_rev_ok(const char *s)
{
	return atc_syntax_tid(s, NULL, 0) == 0;
}

const char *
api_attendee_status(const char *status)
{
	if (strcmp(status, "going") == 0)
		return "confirmed";
	if (strcmp(status, "interested") == 0)
		return "maybe";
	if (strcmp(status, "notgoing") == 0)
		return "cancelled";
	return NULL;
}
