/* SPDX-License-Identifier: ISC */
/*
 * Builds the operation objects the database applies (schema/0007). The
 * validated DTO structs hold normalised strings; here they become one
 * flat object per write carrying the record's identity (source key, the
 * author's DID and rkey), its dedup keys and the DID whose writers the
 * database serialises ("lock"). A batch is parsed item by item so one bad
 * item gets its own 422 result and never fails its neighbours.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "input.h"
#include "oplist.h"
#include "syntax.h"
#include "util.h"
#include "validate.h"

#define URLS_MAX	120

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, key, json_string(v));
}

/* Sets key to the JSON value in text (owned by the caller); text always
 * comes from json_dumps, so a parse failure means out of memory. */
static void
set_json(json_t *o, const char *key, const char *text)
{
	json_t	*v;

	if (text == NULL)
		return;
	if ((v = json_loads(text, JSON_DECODE_ANY, NULL)) == NULL)
		abort();
	json_object_set_new(o, key, v);
}

int
api_slug_from_url(const char *url, char *out, size_t outlen)
{
	const char	*p;
	size_t		 n;

	if ((p = strstr(url, "/events/")) == NULL)
		return -1;
	p += strlen("/events/");
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0 || n > API_SLUG_MAX || n >= outlen ||
	    (p[n] != '\0' && p[n] != '/' && p[n] != '?' && p[n] != '#'))
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static void
add_url(const char *url, json_t *urls, json_t *slugs)
{
	char	slug[API_SLUG_MAX + 1];
	size_t	i;
	json_t	*v;

	if (url == NULL || *url == '\0' || json_array_size(urls) >= URLS_MAX)
		return;
	json_array_foreach(urls, i, v)
		if (strcmp(json_string_value(v), url) == 0)
			return;
	json_array_append_new(urls, json_string(url));
	if (api_slug_from_url(url, slug, sizeof(slug)) == 0)
		json_array_append_new(slugs, json_string(slug));
}

/* uris entries: strings, or objects with a string "uri". */
static void
add_uris(const json_t *uris, json_t *urls, json_t *slugs)
{
	const json_t	*v;
	size_t		 i;

	if (!json_is_array(uris))
		return;
	json_array_foreach(uris, i, v) {
		if (json_is_object(v))
			v = json_object_get(v, "uri");
		if (json_is_string(v))
			add_url(json_string_value(v), urls, slugs);
	}
}

void
api_dedup_keys(const json_t *body, json_t *urls, json_t *slugs)
{
	const json_t	*src = json_object_get(body, "source"), *raw;

	if (json_is_string(json_object_get(src, "url")))
		add_url(json_string_value(json_object_get(src, "url")), urls,
		    slugs);
	add_uris(json_object_get(body, "uris"), urls, slugs);
	raw = json_object_get(src, "rawRecord");
	add_uris(json_object_get(raw, "uris"), urls, slugs);
}

json_t *
api_op_event_put(const struct api_event *ev, const json_t *body)
{
	const json_t	*meta;
	json_t		*o, *urls, *slugs;
	const char	*did = ev->creator_did, *rkey = NULL, *cid;
	char		 adid[2049], coll[512], rk[600], e[ATC_ERRLEN];

	meta = json_object_get(json_object_get(body, "source"), "metadata");
	if (ev->creator_did != NULL && api_aturi_parse(ev->source_id, adid,
	    coll, rk, sizeof(coll), e, sizeof(e)) == 0)
		rkey = rk;
	if (did == NULL) {
		/* Other sources name their author in metadata, if at all. */
		did = json_string_value(json_object_get(meta, "did"));
		if (did != NULL && atc_syntax_did(did, NULL, 0) == -1)
			did = NULL;
		rkey = json_string_value(json_object_get(meta, "rkey"));
	}
	cid = json_string_value(json_object_get(meta, "cid"));
	o = json_object();
	set_str(o, "op", "event.put");
	set_str(o, "sourceType", ev->source_type);
	set_str(o, "sourceId", ev->source_id);
	if (did != NULL)
		set_str(o, "lock", did);
	else
		json_object_set_new(o, "lock", json_sprintf("%s %s",
		    ev->source_type, ev->source_id));
	set_str(o, "did", did);
	set_str(o, "rkey", rkey);
	set_str(o, "cid", cid);
	set_str(o, "rev", ev->rev);
	set_str(o, "sourceUrl", ev->source_url);
	set_str(o, "handle", ev->source_handle);
	set_str(o, "name", ev->name);
	if (ev->description != NULL)
		json_object_set_new(o, "description",
		    json_string(ev->description));
	set_str(o, "startDate", ev->start_date);
	set_str(o, "endDate", ev->end_date);
	set_str(o, "type", ev->type);
	set_str(o, "status", ev->status);
	set_str(o, "visibility", ev->visibility);
	set_json(o, "locations", ev->locations_json);
	set_json(o, "uris", ev->uris_json);
	set_json(o, "categories", ev->categories_json);
	set_json(o, "metadata", ev->metadata_json);
	set_json(o, "rawRecord", ev->raw_record_json);
	urls = json_array();
	slugs = json_array();
	api_dedup_keys(body, urls, slugs);
	json_object_set_new(o, "urls", urls);
	json_object_set_new(o, "slugs", slugs);
	return o;
}

json_t *
api_op_rsvp_put(const struct api_rsvp *rv)
{
	json_t	*o;
	char	 did[2049], coll[512], rkey[600], e[ATC_ERRLEN];

	o = json_object();
	set_str(o, "op", "rsvp.put");
	set_str(o, "lock", rv->user_did);
	set_str(o, "sourceType", rv->event_source_type);
	set_str(o, "sourceId", rv->source_id);
	set_str(o, "eventSourceType", rv->event_source_type);
	set_str(o, "eventSourceId", rv->event_source_id);
	if (api_aturi_parse(rv->event_source_id, did, coll, rkey,
	    sizeof(coll), e, sizeof(e)) == 0) {
		set_str(o, "eventDid", did);
		set_str(o, "eventRkey", rkey);
	}
	set_str(o, "did", rv->user_did);
	set_str(o, "handle", rv->user_handle);
	set_str(o, "status", rv->status);
	set_str(o, "attendeeStatus", rv->attendee_status);
	set_str(o, "rev", rv->rev);
	set_json(o, "metadata", rv->metadata_json);
	return o;
}

json_t *
api_op_delete(int rsvp, const char *source_type, const char *source_id,
    const char *did, const char *rkey, const char *rev)
{
	json_t	*o;

	o = json_object();
	set_str(o, "op", rsvp ? "rsvp.del" : "event.del");
	set_str(o, "sourceType", source_type);
	set_str(o, "sourceId", source_id);
	if (did != NULL && *did != '\0')
		set_str(o, "lock", did);
	else
		json_object_set_new(o, "lock", json_sprintf("%s %s",
		    source_type, source_id));
	set_str(o, "did", did);
	set_str(o, "rkey", rkey);
	set_str(o, "rev", rev);
	return o;
}

/* The result of an item that failed validation. */
static json_t *
item_invalid(json_t *errors)
{
	return json_pack("{s:i, s:s, s:O}", "status", 422, "error",
	    "validation_failed", "errors", errors);
}

static json_t *
parse_delete(const json_t *item, int rsvp, json_t *errors)
{
	const json_t	*v;
	const char	*stype = "bluesky", *sid = NULL, *rev = NULL;
	char		 did[2049], coll[512], rkey[600], e[ATC_ERRLEN];
	bool		 parsed = false;

	v = json_object_get(item, "sourceType");
	if (v != NULL && !json_is_null(v)) {
		stype = json_string_value(v);
		if (stype == NULL || !api_source_type_ok(stype)) {
			json_object_set_new(errors, "sourceType", json_string(
			    "must be one of bluesky, eventbrite, facebook, "
			    "luma, meetup, other, web"));
			stype = NULL;
		}
	}
	v = json_object_get(item, "sourceId");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 2048)
		json_object_set_new(errors, "sourceId", json_string(
		    "is required (a string of at most 2048 bytes)"));
	else
		sid = json_string_value(v);
	if (sid != NULL && stype != NULL && strcmp(stype, "bluesky") == 0) {
		if (api_aturi_parse(sid, did, coll, rkey, sizeof(coll), e,
		    sizeof(e)) == -1)
			json_object_set_new(errors, "sourceId", json_string(e));
		else
			parsed = true;
	}
	v = json_object_get(item, "rev");
	if (v != NULL && !json_is_null(v)) {
		rev = json_string_value(v);
		if (rev == NULL || !api_rev_ok(rev))
			json_object_set_new(errors, "rev",
			    json_string("must be a repo revision (TID)"));
	}
	if (json_object_size(errors) > 0)
		return NULL;
	return api_op_delete(rsvp, stype, sid, parsed ? did : NULL,
	    parsed ? rkey : NULL, rev);
}

/* Returns the operation of one item, or NULL with errors filled. */
static json_t *
parse_item(const json_t *item, json_t *errors)
{
	struct api_event	 ev;
	struct api_rsvp		 rv;
	const json_t		*body;
	const char		*op;
	json_t			*o = NULL;

	if (!json_is_object(item)) {
		json_object_set_new(errors, "item",
		    json_string("must be an object"));
		return NULL;
	}
	op = json_string_value(json_object_get(item, "op"));
	body = json_object_get(item, "body");
	if (op == NULL) {
		json_object_set_new(errors, "op", json_string("must be one of "
		    "event.upsert, event.delete, rsvp.upsert, rsvp.delete"));
		return NULL;
	}
	if (strcmp(op, "event.upsert") == 0) {
		if (api_event_from_json(body, &ev, errors) == 0)
			o = api_op_event_put(&ev, body);
		api_event_cleanup(&ev);
	} else if (strcmp(op, "rsvp.upsert") == 0) {
		if (api_rsvp_from_json(body, &rv, errors) == 0)
			o = api_op_rsvp_put(&rv);
		api_rsvp_cleanup(&rv);
	} else if (strcmp(op, "event.delete") == 0)
		o = parse_delete(item, 0, errors);
	else if (strcmp(op, "rsvp.delete") == 0)
		o = parse_delete(item, 1, errors);
	else
		json_object_set_new(errors, "op", json_string("must be one of "
		    "event.upsert, event.delete, rsvp.upsert, rsvp.delete"));
	return o;
}

int
api_batch_parse(const json_t *body, json_t **ops, json_t **results,
    json_t *errors)
{
	const json_t	*items, *item;
	json_t		*o, *ierr;
	size_t		 i;

	*ops = *results = NULL;
	if (!json_is_object(body)) {
		json_object_set_new(errors, "body",
		    json_string("must be a JSON object"));
		return -1;
	}
	items = json_object_get(body, "operations");
	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > API_OPS_MAX) {
		json_object_set_new(errors, "operations", json_string(
		    "must be an array of 1 to 500 operations"));
		return -1;
	}
	*ops = json_array();
	*results = json_array();
	json_array_foreach(items, i, item) {
		ierr = json_object();
		if ((o = parse_item(item, ierr)) != NULL) {
			json_array_append_new(*ops, o);
			json_array_append_new(*results, json_null());
		} else
			json_array_append_new(*results, item_invalid(ierr));
		json_decref(ierr);
	}
	return 0;
}
