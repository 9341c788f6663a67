/* SPDX-License-Identifier: ISC */
/*
 * Jetstream event translation. Jetstream gives no cryptographic guarantee,
 * so every field that routing and storage depend on is validated here
 * (DID, NSID, rkey, TID rev, operation, record shape) before anything is
 * published; the event itself is forwarded as received plus seq and source,
 * which makes its body identical in shape to the firehose path's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "jetstream.h"
#include "route.h"
#include "syntax.h"
#include "util.h"

#define MAX_EVENT_LEN	(2u * 1024 * 1024)
#define MAX_DEPTH	32

static int
wanted(const char *const *collections, const char *c)
{
	size_t	i;

	if (collections == NULL)
		return 1;
	for (i = 0; collections[i] != NULL; i++)
		if (strcmp(collections[i], c) == 0)
			return 1;
	return 0;
}

static int
depth_ok(json_t *v, int depth)
{
	const char	*k;
	json_t		*x;
	size_t		 i;

	if (depth > MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			if (!depth_ok(x, depth + 1))
				return 0;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (!depth_ok(x, depth + 1))
				return 0;
	}
	return 1;
}

/* Identity and account events: checked, then routed by what changed. */
static enum jetstream_result
identity_event(json_t *root, const char *did, const char *kind,
    struct jetstream_event *ev, char *err, size_t errlen)
{
	json_t		*o, *active;
	const char	*status, *handle;
	char		 e2[ATC_ERRLEN];

	o = json_object_get(root, kind);
	if (!json_is_object(o)) {
		atc_seterr(err, errlen, "jetstream: %s without its object",
		    kind);
		return JETSTREAM_INVALID;
	}
	if (strcmp(kind, "identity") == 0) {
		handle = json_string_value(json_object_get(o, "handle"));
		if (handle != NULL && strcmp(handle, "handle.invalid") != 0 &&
		    atc_syntax_handle(handle, e2, sizeof(e2)) == -1) {
			atc_seterr(err, errlen, "jetstream: handle: %s", e2);
			return JETSTREAM_INVALID;
		}
		(void)snprintf(ev->routing_key, sizeof(ev->routing_key),
		    "identity.update");
	} else {
		active = json_object_get(o, "active");
		status = json_string_value(json_object_get(o, "status"));
		if (!json_is_boolean(active)) {
			atc_seterr(err, errlen, "jetstream: account without "
			    "active");
			return JETSTREAM_INVALID;
		}
		if (json_is_true(active))
			status = "active";
		else if (status == NULL || status[0] == '\0' ||
		    strspn(status, "abcdefghijklmnopqrstuvwxyz") !=
		    strlen(status) || strlen(status) > 20)
			status = "inactive";
		(void)snprintf(ev->routing_key, sizeof(ev->routing_key),
		    "account.%s", status);
	}
	(void)snprintf(ev->message_id, sizeof(ev->message_id), "%s#%lld",
	    did, (long long)ev->time_us);
	return JETSTREAM_PUBLISH;
}

enum jetstream_result
jetstream_translate(const char *data, size_t len,
    const char *const *collections, bool identity, const char *source,
    struct atc_buf *body, struct jetstream_event *ev, char *err,
    size_t errlen)
{
	enum jetstream_result	 ret = JETSTREAM_INVALID;
	json_t			*root = NULL, *commit, *record;
	json_error_t		 jerr;
	const char		*did, *kind, *op, *coll, *rkey, *rev, *cid;
	char			 e2[ATC_ERRLEN], *out = NULL;
	json_int_t		 time_us;

	memset(ev, 0, sizeof(*ev));
	ev->time_us = -1;
	if (len > MAX_EVENT_LEN) {
		atc_seterr(err, errlen, "jetstream: event of %zu bytes over "
		    "the %u limit", len, MAX_EVENT_LEN);
		goto out;
	}
	/* U+0000 is valid in atproto text values; keys with it are refused
	 * by jansson and the event is dropped as invalid. */
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &jerr);
	if (root == NULL || !json_is_object(root)) {
		atc_seterr(err, errlen, "jetstream: not a JSON object: %s",
		    root == NULL ? jerr.text : "wrong type");
		goto out;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s:s, s:I}", "did", &did,
	    "kind", &kind, "time_us", &time_us) == -1) {
		atc_seterr(err, errlen, "jetstream: %s", jerr.text);
		goto out;
	}
	if (time_us < 0) {
		atc_seterr(err, errlen, "jetstream: negative time_us");
		goto out;
	}
	ev->time_us = time_us;
	(void)snprintf(ev->uri, sizeof(ev->uri), "%s", did);
	if (atc_syntax_did(did, e2, sizeof(e2)) == -1) {
		atc_seterr(err, errlen, "jetstream: did: %s", e2);
		goto out;
	}
	if (strcmp(kind, "identity") == 0 || strcmp(kind, "account") == 0) {
		if (!identity) {
			ret = JETSTREAM_SKIP;
			goto out;
		}
		if ((ret = identity_event(root, did, kind, ev, err,
		    errlen)) != JETSTREAM_PUBLISH)
			goto out;
		goto emit;
	}
	if (strcmp(kind, "commit") != 0) {
		ret = JETSTREAM_SKIP;
		goto out;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:o}", "commit", &commit) == -1 ||
	    json_unpack_ex(commit, &jerr, 0, "{s:s, s:s, s:s, s:s}",
	    "operation", &op, "collection", &coll, "rkey", &rkey, "rev",
	    &rev) == -1) {
		atc_seterr(err, errlen, "jetstream: commit: %s", jerr.text);
		goto out;
	}
	(void)snprintf(ev->uri, sizeof(ev->uri), "at://%s/%s/%s", did, coll,
	    rkey);
	if (!wanted(collections, coll)) {
		ret = JETSTREAM_SKIP;
		goto out;
	}
	if (atc_syntax_nsid(coll, e2, sizeof(e2)) == -1 ||
	    atc_syntax_rkey(rkey, e2, sizeof(e2)) == -1 ||
	    atc_syntax_tid(rev, e2, sizeof(e2)) == -1) {
		atc_seterr(err, errlen, "jetstream: %s", e2);
		goto out;
	}
	if (strcmp(op, "create") != 0 && strcmp(op, "update") != 0 &&
	    strcmp(op, "delete") != 0) {
		atc_seterr(err, errlen, "jetstream: unknown operation");
		goto out;
	}
	if (strcmp(op, "delete") != 0) {
		record = json_object_get(commit, "record");
		cid = json_string_value(json_object_get(commit, "cid"));
		if (!json_is_object(record) || cid == NULL) {
			atc_seterr(err, errlen, "jetstream: %s without record "
			    "or cid", op);
			goto out;
		}
		if (atc_syntax_cid(cid, e2, sizeof(e2)) == -1) {
			atc_seterr(err, errlen, "jetstream: cid: %s", e2);
			goto out;
		}
		if (!depth_ok(record, 0)) {
			atc_seterr(err, errlen, "jetstream: record nested "
			    "deeper than %d", MAX_DEPTH);
			goto out;
		}
	}
	(void)snprintf(ev->routing_key, sizeof(ev->routing_key), "%s.%s",
	    route_kind(coll), op);
	(void)snprintf(ev->message_id, sizeof(ev->message_id), "%s#%s",
	    ev->uri, rev);
emit:
	if (json_object_set_new(root, "seq", json_integer(time_us)) == -1 ||
	    json_object_set_new(root, "source", json_string(source)) == -1 ||
	    (out = json_dumps(root, JSON_COMPACT)) == NULL) {
		atc_seterr(err, errlen, "jetstream: cannot encode the message");
		goto out;
	}
	atc_buf_puts(body, out);
	ret = JETSTREAM_PUBLISH;
out:
	free(out);
	json_decref(root);
	return ret;
}

int
jetstream_is_url(const char *url)
{
	const char	*p, *end;

	if ((p = strstr(url, "://")) == NULL)
		return 0;
	p += 3;
	end = p + strcspn(p, "?#");
	return end - p >= 10 && memcmp(end - 10, "/subscribe", 10) == 0;
}

void
jetstream_build_url(struct atc_buf *out, const char *url,
    const char *const *collections, int64_t cursor_us)
{
	char	sep;
	size_t	i;

	atc_buf_puts(out, url);
	sep = strchr(url, '?') ? '&' : '?';
	if (strstr(url, "wantedCollections=") == NULL && collections != NULL) {
		for (i = 0; collections[i] != NULL; i++) {
			atc_buf_appendf(out, "%cwantedCollections=%s", sep,
			    collections[i]);
			sep = '&';
		}
	}
	if (cursor_us >= 0)
		atc_buf_appendf(out, "%ccursor=%lld", sep,
		    (long long)cursor_us);
}
