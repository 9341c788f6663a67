/* SPDX-License-Identifier: ISC */
/*
 * Decisions and mapping for fetching an RSVP's unknown event, pure so they
 * are tested alone. A fetched event is shaped as the backfill would have
 * published it (operation create, the repository's rev, "backfill":true),
 * so it meets the same map_message() checks and the API's rev ordering
 * keeps any newer write of the same record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cid.h"
#include "fetch_event_map.h"
#include "map.h"
#include "syntax.h"
#include "util.h"

static const char *const event_collections[] = {
	"community.lexicon.calendar.event",
	"events.smokesignal.calendar.event",
};

bool
fetch_event_wanted(const struct map_call *c, long status, long long attempts,
    long long after)
{
	if (after < 1 || attempts < after || status != 424)
		return false;
	if (c->kind == NULL || strcmp(c->kind, "rsvp") != 0 || c->op == NULL)
		return false;
	return strcmp(c->op, "create") == 0 || strcmp(c->op, "update") == 0;
}

static bool
is_event_collection(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < ATC_NELEM(event_collections); i++)
		if (strlen(event_collections[i]) == len &&
		    memcmp(event_collections[i], s, len) == 0)
			return true;
	return false;
}

int
fetch_event_subject(const struct map_call *c, char *uri, size_t urilen,
    char *err, size_t errlen)
{
	struct atc_at_uri	 u;
	json_t			*dto;
	const char		*v;
	char			 did[2100], why[ATC_ERRLEN];
	int			 ret = -1;

	if (c->body == NULL)
		return atc_seterr(err, errlen, "RSVP without a body");
	if ((dto = json_loads(c->body, 0, NULL)) == NULL)
		return atc_seterr(err, errlen, "RSVP body is not JSON");
	v = json_string_value(json_object_get(dto, "eventSourceId"));
	if (v == NULL) {
		atc_seterr(err, errlen, "RSVP without eventSourceId");
		goto out;
	}
	if (atc_syntax_at_uri(v, &u, why, sizeof(why)) == -1) {
		atc_seterr(err, errlen, "event uri: %s", why);
		goto out;
	}
	if (u.collection == NULL || u.rkey == NULL || u.rkey_len == 0 ||
	    !is_event_collection(u.collection, u.collection_len)) {
		atc_seterr(err, errlen, "event uri names no event record");
		goto out;
	}
	if (u.authority_len >= sizeof(did)) {
		atc_seterr(err, errlen, "event uri: authority too long");
		goto out;
	}
	memcpy(did, u.authority, u.authority_len);
	did[u.authority_len] = '\0';
	if (atc_syntax_did(did, why, sizeof(why)) == -1) {
		atc_seterr(err, errlen, "event uri: authority is not a DID: "
		    "%s", why);
		goto out;
	}
	if ((size_t)snprintf(uri, urilen, "%s", v) >= urilen) {
		atc_seterr(err, errlen, "event uri too long");
		goto out;
	}
	ret = 0;
out:
	json_decref(dto);
	return ret;
}

int
fetch_event_parse_rev(const void *json, size_t len, char *rev, size_t revlen,
    char *err, size_t errlen)
{
	json_t		*root;
	const char	*v;
	char		 why[ATC_ERRLEN];
	int		 ret = -1;

	if (len > FETCH_ANSWER_MAX)
		return atc_seterr(err, errlen, "getLatestCommit answer too "
		    "large");
	if ((root = json_loadb(json, len, 0, NULL)) == NULL)
		return atc_seterr(err, errlen, "getLatestCommit answer is not "
		    "JSON");
	v = json_string_value(json_object_get(root, "rev"));
	if (v == NULL)
		atc_seterr(err, errlen, "getLatestCommit answer without rev");
	else if (atc_syntax_tid(v, why, sizeof(why)) == -1)
		atc_seterr(err, errlen, "getLatestCommit rev: %s", why);
	else if ((size_t)snprintf(rev, revlen, "%s", v) >= revlen)
		atc_seterr(err, errlen, "getLatestCommit rev too long");
	else
		ret = 0;
	json_decref(root);
	return ret;
}

int
fetch_event_envelope(struct atc_buf *out, const char *uri, const char *rev,
    const void *answer, size_t len, uint64_t time_us, const char *source,
    char *err, size_t errlen)
{
	struct atc_at_uri	 u;
	json_t			*root = NULL, *env = NULL, *commit, *value;
	json_error_t		 jerr;
	const char		*v, *cid, *type;
	uint8_t			 bin[128];
	size_t			 binlen;
	char			*text = NULL, did[2100], coll[400], rkey[600];
	char			 why[ATC_ERRLEN];
	int			 ret = -1;

	atc_buf_reset(out);
	if (atc_syntax_at_uri(uri, &u, why, sizeof(why)) == -1 ||
	    u.collection == NULL || u.rkey == NULL ||
	    u.authority_len >= sizeof(did) ||
	    u.collection_len >= sizeof(coll) || u.rkey_len >= sizeof(rkey))
		return atc_seterr(err, errlen, "bad event uri");
	(void)snprintf(did, sizeof(did), "%.*s", (int)u.authority_len,
	    u.authority);
	(void)snprintf(coll, sizeof(coll), "%.*s", (int)u.collection_len,
	    u.collection);
	(void)snprintf(rkey, sizeof(rkey), "%.*s", (int)u.rkey_len, u.rkey);
	if (len > FETCH_ANSWER_MAX)
		return atc_seterr(err, errlen, "getRecord answer of %zu bytes, "
		    "limit %d", len, FETCH_ANSWER_MAX);
	if ((root = json_loadb(answer, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return atc_seterr(err, errlen, "getRecord answer: JSON: %s",
		    jerr.text);
	if ((v = json_string_value(json_object_get(root, "uri"))) == NULL ||
	    strcmp(v, uri) != 0) {
		atc_seterr(err, errlen, "getRecord answer names another "
		    "record");
		goto out;
	}
	cid = json_string_value(json_object_get(root, "cid"));
	if (cid == NULL || atc_cid_from_string(bin, sizeof(bin), &binlen, cid,
	    strlen(cid), why, sizeof(why)) == -1) {
		atc_seterr(err, errlen, "getRecord answer: cid: %s",
		    cid == NULL ? "missing" : why);
		goto out;
	}
	value = json_object_get(root, "value");
	if (!json_is_object(value)) {
		atc_seterr(err, errlen, "getRecord answer: no record object");
		goto out;
	}
	if (atc_datamodel_validate(value, why, sizeof(why)) == -1) {
		atc_seterr(err, errlen, "invalid record: %s", why);
		goto out;
	}
	type = json_string_value(json_object_get(value, "$type"));
	if (type == NULL || strcmp(type, coll) != 0) {
		atc_seterr(err, errlen, "invalid record: $type is not %s",
		    coll);
		goto out;
	}
	commit = json_object();
	json_object_set_new(commit, "rev", json_string(rev));
	json_object_set_new(commit, "operation", json_string("create"));
	json_object_set_new(commit, "collection", json_string(coll));
	json_object_set_new(commit, "rkey", json_string(rkey));
	json_object_set(commit, "record", value);
	json_object_set_new(commit, "cid", json_string(cid));
	env = json_object();
	json_object_set_new(env, "did", json_string(did));
	json_object_set_new(env, "time_us", json_integer((json_int_t)time_us));
	json_object_set_new(env, "kind", json_string("commit"));
	json_object_set_new(env, "commit", commit);
	json_object_set_new(env, "source", json_string(source));
	json_object_set_new(env, "backfill", json_true());
	if ((text = json_dumps(env, JSON_COMPACT)) == NULL) {
		atc_seterr(err, errlen, "record not serialisable");
		goto out;
	}
	atc_buf_puts(out, text);
	ret = 0;
out:
	free(text);
	json_decref(env);
	json_decref(root);
	return ret;
}

/* FNV-1a, never 0 (0 marks a free slot). */
static uint64_t
uri_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

bool
fetch_recent_seen(struct fetch_recent *r, const char *uri, uint64_t now_ms,
    uint64_t window_ms)
{
	uint64_t	h = uri_hash(uri);
	size_t		i, slot = 0;

	for (i = 0; i < FETCH_RECENT_MAX; i++) {
		if (r->e[i].hash == h) {
			if (now_ms - r->e[i].at_ms < window_ms)
				return true;
			slot = i;
			goto take;
		}
		/* Free slots first, else the oldest entry. */
		if (r->e[slot].hash != 0 && (r->e[i].hash == 0 ||
		    r->e[i].at_ms < r->e[slot].at_ms))
			slot = i;
	}
take:
	r->e[slot].hash = h;
	r->e[slot].at_ms = now_ms;
	return false;
}
