/* SPDX-License-Identifier: ISC */
/*
 * Message -> integration API call. Pure (no I/O), so it is unit-tested
 * table-driven. The envelope is checked first (a bad envelope is as
 * permanent as a bad record); then events and RSVPs, current and legacy
 * Smoke Signal NSIDs alike, become the OpenMeet-compatible DTOs. Nothing in
 * the record is invented: absent fields stay absent, coordinates stay the
 * strings they were, every location is kept.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "map.h"
#include "map_life.h"
#include "syntax.h"
#include "util.h"

#define NSID_EVENT		"community.lexicon.calendar.event"
#define NSID_RSVP		"community.lexicon.calendar.rsvp"
#define NSID_SS_EVENT		"events.smokesignal.calendar.event"
#define NSID_SS_RSVP		"events.smokesignal.calendar.rsvp"
#define NSID_SS_LOCATION	"events.smokesignal.calendar.location"
#define NSID_ADDRESS		"community.lexicon.location.address"

/* The parsed commit envelope; every pointer is borrowed from root. */
struct envelope {
	const char	*did;
	const char	*collection;
	const char	*rkey;
	const char	*rev;
	const char	*op;
	const char	*cid;
	json_t		*record;	/* object, NULL on delete */
	json_t		*time_us;	/* integer or NULL */
	bool		 is_event;
	bool		 legacy;
};

static const char *
str_get(const json_t *obj, const char *key)
{
	const json_t	*v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Returns the part after '#' of a knownValue token ("...#virtual"), or the
 * token itself when it has none. */
static const char *
token_suffix(const char *v)
{
	const char	*h;

	if (v == NULL)
		return NULL;
	h = strrchr(v, '#');
	return h != NULL ? h + 1 : v;
}

static void
query_escape(struct atc_buf *b, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			atc_buf_putc(b, c);
		else {
			atc_buf_putc(b, '%');
			atc_buf_putc(b, hex[c >> 4]);
			atc_buf_putc(b, hex[c & 15]);
		}
	}
}

static int
envelope_parse(struct envelope *e, json_t *root, struct map_call *out,
    char *reason, size_t reasonlen)
{
	const json_t	*commit;
	const char	*kind;
	char		 why[ATC_ERRLEN];

	memset(e, 0, sizeof(*e));
	if (!json_is_object(root))
		return atc_seterr(reason, reasonlen, "bad envelope: not an "
		    "object");
	kind = str_get(root, "kind");
	if (kind == NULL || strcmp(kind, "commit") != 0)
		return atc_seterr(reason, reasonlen, "bad envelope: kind is "
		    "not commit");
	commit = json_object_get(root, "commit");
	if (!json_is_object(commit))
		return atc_seterr(reason, reasonlen, "bad envelope: missing "
		    "commit");
	e->did = str_get(root, "did");
	e->collection = str_get(commit, "collection");
	e->rkey = str_get(commit, "rkey");
	e->rev = str_get(commit, "rev");
	e->op = str_get(commit, "operation");
	e->cid = str_get(commit, "cid");
	e->record = json_object_get(commit, "record");
	e->time_us = json_object_get(root, "time_us");
	if (e->time_us != NULL && !json_is_integer(e->time_us))
		e->time_us = NULL;

	if (e->did == NULL || atc_syntax_did(e->did, why, sizeof(why)) == -1)
		return atc_seterr(reason, reasonlen, "bad envelope: did: %s",
		    e->did == NULL ? "missing" : why);
	if (e->collection == NULL)
		return atc_seterr(reason, reasonlen, "bad envelope: missing "
		    "commit.collection");
	if (strcmp(e->collection, NSID_EVENT) == 0)
		e->is_event = true;
	else if (strcmp(e->collection, NSID_SS_EVENT) == 0)
		e->is_event = e->legacy = true;
	else if (strcmp(e->collection, NSID_SS_RSVP) == 0)
		e->legacy = true;
	else if (strcmp(e->collection, NSID_RSVP) != 0)
		return atc_seterr(reason, reasonlen, "bad envelope: collection "
		    "%.100s is not a calendar collection", e->collection);
	out->kind = e->is_event ? "event" : "rsvp";
	if (e->rkey == NULL || atc_syntax_rkey(e->rkey, why, sizeof(why)) == -1)
		return atc_seterr(reason, reasonlen, "bad envelope: rkey: %s",
		    e->rkey == NULL ? "missing" : why);
	if (strlen(e->did) + strlen(e->collection) + strlen(e->rkey) < 4096) {
		struct atc_buf	u;

		atc_buf_init(&u, 128);
		atc_buf_appendf(&u, "at://%s/%s/%s", e->did, e->collection,
		    e->rkey);
		out->uri = atc_buf_release(&u);
	}
	if (e->op == NULL)
		return atc_seterr(reason, reasonlen, "bad envelope: missing "
		    "commit.operation");
	if (strcmp(e->op, "create") == 0)
		out->op = "create";
	else if (strcmp(e->op, "update") == 0)
		out->op = "update";
	else if (strcmp(e->op, "delete") == 0)
		out->op = "delete";
	else
		return atc_seterr(reason, reasonlen, "bad envelope: unknown "
		    "operation %.40s", e->op);
	if (e->rev == NULL || atc_syntax_tid(e->rev, why, sizeof(why)) == -1)
		return atc_seterr(reason, reasonlen, "bad envelope: rev: %s",
		    e->rev == NULL ? "missing" : why);
	out->rev = atc_xstrdup(e->rev);
	if (out->op[0] != 'd' && !json_is_object(e->record))
		return atc_seterr(reason, reasonlen, "bad envelope: %s without "
		    "a record object", out->op);
	return 0;
}

/* source.metadata / RSVP metadata fields shared by both kinds. */
static void
meta_common(json_t *meta, const struct envelope *e)
{
	if (e->cid != NULL)
		json_object_set_new(meta, "cid", json_string(e->cid));
	json_object_set_new(meta, "rkey", json_string(e->rkey));
	json_object_set_new(meta, "collection", json_string(e->collection));
	json_object_set_new(meta, "rev", json_string(e->rev));
	if (e->time_us != NULL)
		json_object_set(meta, "time_us", e->time_us);
}

/* A legacy Smoke Signal location becomes its lexicon.community equivalent;
 * current locations (and unknown kinds) are kept exactly as given. */
static json_t *
location_convert(json_t *loc)
{
	const char	*type = str_get(loc, "$type");
	const char	*keys[] = { "name", "street", "locality", "region",
			    "postalCode", "country" };
	json_t		*out;
	size_t		 i;

	if (type == NULL || strncmp(type, NSID_SS_LOCATION "#",
	    sizeof(NSID_SS_LOCATION)) != 0)
		return json_incref(loc);
	out = json_object();
	if (strcmp(token_suffix(type), "virtual") == 0) {
		json_object_set_new(out, "$type",
		    json_string(NSID_EVENT "#uri"));
		if (str_get(loc, "url") != NULL)
			json_object_set(out, "uri", json_object_get(loc, "url"));
		if (str_get(loc, "name") != NULL)
			json_object_set(out, "name",
			    json_object_get(loc, "name"));
		return out;
	}
	json_object_set_new(out, "$type", json_string(NSID_ADDRESS));
	for (i = 0; i < ATC_NELEM(keys); i++)
		if (str_get(loc, keys[i]) != NULL)
			json_object_set(out, keys[i],
			    json_object_get(loc, keys[i]));
	return out;
}

/* OpenMeet's single `location` {description?, lat?, lon?, url?} from the
 * first location; lat/lon stay strings, "0" included. */
static json_t *
location_flat(const json_t *loc)
{
	const char	*parts[] = { "name", "street", "locality", "region",
			    "postalCode", "country" };
	const char	*type = str_get(loc, "$type"), *sfx, *v;
	struct atc_buf	 d;
	json_t		*out = json_object();
	size_t		 i;

	sfx = type != NULL ? type : "";
	if (str_get(loc, "latitude") != NULL)
		json_object_set(out, "lat", json_object_get(loc, "latitude"));
	if (str_get(loc, "longitude") != NULL)
		json_object_set(out, "lon", json_object_get(loc, "longitude"));
	if (strcmp(sfx, NSID_EVENT "#uri") == 0 &&
	    (v = str_get(loc, "uri")) != NULL)
		json_object_set_new(out, "url", json_string(v));
	atc_buf_init(&d, 64);
	if (strcmp(sfx, NSID_ADDRESS) == 0) {
		for (i = 0; i < ATC_NELEM(parts); i++) {
			if ((v = str_get(loc, parts[i])) == NULL || *v == '\0')
				continue;
			atc_buf_appendf(&d, "%s%s", d.len ? ", " : "", v);
		}
	} else if ((v = str_get(loc, "name")) != NULL)
		atc_buf_puts(&d, v);
	if (d.len > 0)
		json_object_set_new(out, "description",
		    json_string(atc_buf_cstr(&d)));
	atc_buf_cleanup(&d);
	return out;
}

static int
map_event(json_t *dto, const struct envelope *e, const char *uri,
    char *reason, size_t reasonlen)
{
	const json_t	*r = e->record, *uris;
	json_t		*src, *meta, *locs, *in, *v;
	const char	*name, *desc, *start, *end, *mode, *status;
	const char	*url = NULL;
	size_t		 i;

	name = str_get(r, "name");
	if (name == NULL || *name == '\0')
		return atc_seterr(reason, reasonlen, "invalid record: missing "
		    "name");
	start = str_get(r, "startsAt");
	if (start == NULL)
		start = str_get(r, "createdAt");
	if (start == NULL)
		return atc_seterr(reason, reasonlen, "invalid record: neither "
		    "startsAt nor createdAt");
	desc = str_get(r, e->legacy ? "text" : "description");
	if (desc == NULL && e->legacy)
		desc = str_get(r, "description");
	end = str_get(r, "endsAt");
	mode = token_suffix(str_get(r, "mode"));
	status = token_suffix(str_get(r, "status"));

	json_object_set_new(dto, "name", json_string(name));
	if (desc != NULL)
		json_object_set_new(dto, "description", json_string(desc));
	json_object_set_new(dto, "startDate", json_string(start));
	if (end != NULL)
		json_object_set_new(dto, "endDate", json_string(end));
	json_object_set_new(dto, "type", json_string(
	    mode != NULL && strcmp(mode, "virtual") == 0 ? "online" :
	    mode != NULL && strcmp(mode, "hybrid") == 0 ? "hybrid" :
	    "in-person"));
	json_object_set_new(dto, "status", json_string(
	    status != NULL && strcmp(status, "cancelled") == 0 ? "cancelled" :
	    status != NULL && strcmp(status, "planned") == 0 ? "draft" :
	    "published"));
	json_object_set_new(dto, "visibility", json_string("public"));

	locs = json_array();
	in = json_object_get(r, "locations");
	if (!json_is_array(in))
		in = json_object_get(r, "location");
	if (json_is_array(in)) {
		json_array_foreach(in, i, v) {
			if (json_is_object(v))
				json_array_append_new(locs,
				    location_convert(v));
		}
	}
	json_object_set_new(dto, "locations", locs);
	if (json_array_size(locs) > 0)
		json_object_set_new(dto, "location",
		    location_flat(json_array_get(locs, 0)));
	json_object_set_new(dto, "categories", json_array());

	uris = json_object_get(r, "uris");
	if (json_is_array(uris) && json_array_size(uris) > 0)
		url = str_get(json_array_get(uris, 0), "uri");
	src = json_object();
	json_object_set_new(src, "type", json_string("bluesky"));
	json_object_set_new(src, "id", json_string(uri));
	if (url != NULL)
		json_object_set_new(src, "url", json_string(url));
	meta = json_object();
	meta_common(meta, e);
	json_object_set_new(meta, "did", json_string(e->did));
	json_object_set_new(src, "metadata", meta);
	json_object_set(src, "rawRecord", e->record);
	json_object_set_new(dto, "source", src);
	return 0;
}

static int
map_rsvp(json_t *dto, const struct envelope *e, const char *uri,
    char *reason, size_t reasonlen)
{
	const json_t	*subj;
	json_t		*meta;
	const char	*event_uri, *event_cid = NULL, *st, *raw, *created;
	char		 why[ATC_ERRLEN];

	subj = json_object_get(e->record, "subject");
	if (json_is_string(subj))
		event_uri = json_string_value(subj);	/* old clients */
	else if (json_is_object(subj)) {
		event_uri = str_get(subj, "uri");
		event_cid = str_get(subj, "cid");
	} else
		return atc_seterr(reason, reasonlen, "invalid record: missing "
		    "subject");
	if (event_uri == NULL)
		return atc_seterr(reason, reasonlen, "invalid record: missing "
		    "subject.uri");
	if (atc_syntax_at_uri(event_uri, NULL, why, sizeof(why)) == -1)
		return atc_seterr(reason, reasonlen, "invalid record: "
		    "subject.uri: %s", why);
	raw = str_get(e->record, "status");
	if (json_object_get(e->record, "status") != NULL && raw == NULL)
		return atc_seterr(reason, reasonlen, "invalid record: status "
		    "is not a string");
	st = raw != NULL ? token_suffix(raw) : "going";
	if (strcmp(st, "going") != 0 && strcmp(st, "interested") != 0 &&
	    strcmp(st, "notgoing") != 0)
		return atc_seterr(reason, reasonlen, "invalid record: unknown "
		    "status %.80s", raw);

	json_object_set_new(dto, "eventSourceId", json_string(event_uri));
	json_object_set_new(dto, "eventSourceType", json_string("bluesky"));
	json_object_set_new(dto, "userDid", json_string(e->did));
	json_object_set_new(dto, "status", json_string(st));
	if ((created = str_get(e->record, "createdAt")) != NULL)
		json_object_set_new(dto, "timestamp", json_string(created));
	json_object_set_new(dto, "sourceId", json_string(uri));
	meta = json_object();
	meta_common(meta, e);
	if (event_cid != NULL)
		json_object_set_new(meta, "eventCid", json_string(event_cid));
	json_object_set_new(meta, "eventUri", json_string(event_uri));
	json_object_set_new(dto, "metadata", meta);
	return 0;
}

int
map_message(struct map_call *out, const void *body, size_t len,
    char *reason, size_t reasonlen)
{
	struct envelope	 e;
	struct atc_buf	 path;
	json_error_t	 jerr;
	json_t		*root = NULL, *dto = NULL;
	int		 ret = -1;

	memset(out, 0, sizeof(*out));
	atc_buf_init(&path, 128);
	if (len > MAP_BODY_MAX) {
		atc_seterr(reason, reasonlen, "bad envelope: %zu bytes, limit "
		    "%d", len, MAP_BODY_MAX);
		goto out;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		atc_seterr(reason, reasonlen, "bad envelope: JSON: %s at "
		    "byte %d", jerr.text, jerr.position);
		goto out;
	}
	/* Identity, account, profile and label messages: map_life.c. */
	if (map_life_is(root)) {
		ret = map_life(out, root, reason, reasonlen);
		goto out;
	}
	if (envelope_parse(&e, root, out, reason, reasonlen) == -1 ||
	    out->uri == NULL)
		goto out;

	if (strcmp(out->op, "delete") == 0) {
		out->method = MAP_DELETE;
		atc_buf_appendf(&path, "/api/integration/%s?sourceId=",
		    e.is_event ? "events" : "rsvps");
		query_escape(&path, out->uri);
		atc_buf_puts(&path, "&sourceType=bluesky&rev=");
		query_escape(&path, e.rev);
	} else {
		out->method = MAP_POST;
		atc_buf_appendf(&path, "/api/integration/%s",
		    e.is_event ? "events" : "rsvps");
		dto = json_object();
		if ((e.is_event ? map_event(dto, &e, out->uri, reason,
		    reasonlen) : map_rsvp(dto, &e, out->uri, reason,
		    reasonlen)) == -1)
			goto out;
		if ((out->body = json_dumps(dto, JSON_COMPACT)) == NULL) {
			atc_seterr(reason, reasonlen, "invalid record: not "
			    "serialisable");
			goto out;
		}
	}
	out->path = atc_buf_release(&path);
	ret = 0;
out:
	atc_buf_cleanup(&path);
	json_decref(dto);
	json_decref(root);
	return ret;
}

/* A JSON string literal of s (quotes included). */
static void
json_quote(struct atc_buf *b, const char *s)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		c;

	atc_buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			atc_buf_putc(b, '\\');
			atc_buf_putc(b, c);
		} else if (c < 0x20) {
			atc_buf_appendf(b, "\\u00%c%c", hex[c >> 4],
			    hex[c & 15]);
		} else
			atc_buf_putc(b, c);
	}
	atc_buf_putc(b, '"');
}

int
map_batch_item(struct atc_buf *out, const struct map_call *c,
    const char *request_id)
{
	/* Only events and RSVPs go through the batch endpoint. */
	if (c->kind == NULL || (strcmp(c->kind, "event") != 0 &&
	    strcmp(c->kind, "rsvp") != 0))
		return -1;
	if (c->path == NULL || c->kind == NULL || c->op == NULL ||
	    c->uri == NULL || (c->method == MAP_POST && c->body == NULL) ||
	    (c->method == MAP_DELETE && c->rev == NULL))
		return -1;
	atc_buf_appendf(out, "{\"op\":\"%s.%s\",", c->kind,
	    c->method == MAP_POST ? "upsert" : "delete");
	/* The item carries its own id: the API logs it per item, so one
	 * record's id reaches the API's log inside a batch too. */
	if (request_id != NULL) {
		atc_buf_puts(out, "\"requestId\":");
		json_quote(out, request_id);
		atc_buf_putc(out, ',');
	}
	if (c->method == MAP_POST) {
		atc_buf_puts(out, "\"body\":");
		atc_buf_puts(out, c->body);
	} else {
		atc_buf_puts(out, "\"sourceId\":");
		json_quote(out, c->uri);
		atc_buf_puts(out, ",\"sourceType\":\"bluesky\",\"rev\":");
		json_quote(out, c->rev);
	}
	atc_buf_putc(out, '}');
	return 0;
}

void
map_call_cleanup(struct map_call *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->body);	/* json_dumps output: free() */
	free(c->uri);
	free(c->rev);
	memset(c, 0, sizeof(*c));
}
