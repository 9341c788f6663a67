/* SPDX-License-Identifier: ISC */
/*
 * Lifecycle messages of the consumer (identity.*, account.*, profile.*,
 * label.*) -> API calls. The body keeps the per-DID order keys the API
 * compares (the event's own seq and time, the profile's repo rev, the
 * label's cts); nothing is resolved here: a handle in an identity event is
 * only passed on as a hint.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "map.h"
#include "map_life.h"
#include "syntax.h"
#include "util.h"

#define NSID_PROFILE	"app.bsky.actor.profile"

static const char *
sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

bool
map_life_kind(const char *kind)
{
	return kind != NULL && (strcmp(kind, "identity") == 0 ||
	    strcmp(kind, "account") == 0 || strcmp(kind, "profile") == 0 ||
	    strcmp(kind, "label") == 0);
}

bool
map_life_is(const json_t *root)
{
	const char	*kind = sget(root, "kind");

	if (kind == NULL)
		return json_is_object(root) && sget(root, "src") != NULL &&
		    sget(root, "val") != NULL;
	if (strcmp(kind, "identity") == 0 || strcmp(kind, "account") == 0)
		return true;
	return strcmp(kind, "commit") == 0 && (kind = sget(json_object_get(
	    root, "commit"), "collection")) != NULL &&
	    strcmp(kind, NSID_PROFILE) == 0;
}

/* The event's seq (its own, else the message's) and time into body. */
static void
order_keys(json_t *body, const json_t *root, const json_t *ev)
{
	const json_t	*seq = json_object_get(ev, "seq");
	const char	*t = sget(ev, "time");

	if (!json_is_integer(seq))
		seq = json_object_get(root, "seq");
	if (json_is_integer(seq) && json_integer_value(seq) >= 0)
		json_object_set(body, "seq", (json_t *)seq);
	if (t != NULL)
		json_object_set_new(body, "time", json_string(t));
}

/* time_us (microseconds since the epoch) as an RFC 3339 UTC string. */
static void
time_from_us(json_t *body, const json_t *root)
{
	const json_t	*v = json_object_get(root, "time_us");
	struct tm	 tm;
	time_t		 secs;
	char		 buf[48];
	long long	 us;

	if (!json_is_integer(v) || (us = json_integer_value(v)) < 0)
		return;
	secs = (time_t)(us / 1000000);
	if (gmtime_r(&secs, &tm) == NULL)
		return;
	(void)snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d."
	    "%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
	json_object_set_new(body, "time", json_string(buf));
}

static int
life_identity(struct map_call *out, const json_t *root, const char *did,
    json_t *body, char *reason, size_t reasonlen)
{
	const json_t	*ev = json_object_get(root, "identity");
	const char	*h;

	if (!json_is_object(ev))
		return atc_seterr(reason, reasonlen, "bad envelope: identity "
		    "without its object");
	out->kind = "identity";
	out->op = "update";
	json_object_set_new(body, "did", json_string(did));
	if ((h = sget(ev, "handle")) != NULL)
		json_object_set_new(body, "handle", json_string(h));
	order_keys(body, root, ev);
	return 0;
}

static int
life_account(struct map_call *out, const json_t *root, const char *did,
    json_t *body, char *reason, size_t reasonlen)
{
	const json_t	*ev = json_object_get(root, "account");
	const char	*st;

	if (!json_is_object(ev) || !json_is_boolean(json_object_get(ev,
	    "active")))
		return atc_seterr(reason, reasonlen, "bad envelope: account "
		    "without active");
	out->kind = "account";
	out->op = "update";
	json_object_set_new(body, "did", json_string(did));
	json_object_set(body, "active", json_object_get(ev, "active"));
	if ((st = sget(ev, "status")) != NULL)
		json_object_set_new(body, "status", json_string(st));
	order_keys(body, root, ev);
	return 0;
}

static int
life_profile(struct map_call *out, const json_t *root, const char *did,
    json_t *body, char *reason, size_t reasonlen)
{
	const json_t	*commit = json_object_get(root, "commit");
	const json_t	*rec = json_object_get(commit, "record");
	const char	*op = sget(commit, "operation"), *rev, *rkey;
	struct atc_buf	 u;

	rev = sget(commit, "rev");
	rkey = sget(commit, "rkey");
	if (op == NULL || (strcmp(op, "create") != 0 &&
	    strcmp(op, "update") != 0 && strcmp(op, "delete") != 0))
		return atc_seterr(reason, reasonlen, "bad envelope: unknown "
		    "operation");
	out->kind = "profile";
	out->op = op[0] == 'c' ? "create" : op[0] == 'u' ? "update" :
	    "delete";
	if (rev == NULL || atc_syntax_tid(rev, NULL, 0) == -1)
		return atc_seterr(reason, reasonlen, "bad envelope: rev");
	/* Only the "self" record is a profile; others are not ours. */
	if (rkey == NULL || strcmp(rkey, "self") != 0)
		return atc_seterr(reason, reasonlen, "bad envelope: profile "
		    "rkey is not self");
	atc_buf_init(&u, 128);
	atc_buf_appendf(&u, "at://%s/%s/self", did, NSID_PROFILE);
	out->uri = atc_buf_release(&u);
	out->rev = atc_xstrdup(rev);
	json_object_set_new(body, "did", json_string(did));
	json_object_set_new(body, "rev", json_string(rev));
	json_object_set_new(body, "operation", json_string(out->op));
	if (strcmp(out->op, "delete") != 0) {
		if (!json_is_object(rec))
			return atc_seterr(reason, reasonlen, "bad envelope: "
			    "%s without a record object", out->op);
		json_object_set(body, "record", (json_t *)rec);
	}
	time_from_us(body, root);
	return 0;
}

static int
life_label(struct map_call *out, const json_t *root, json_t *body,
    char *reason, size_t reasonlen)
{
	static const char *const keys[] = { "src", "uri", "cid", "val", "neg",
	    "cts", "exp" };
	json_t		*l, *arr;
	const json_t	*v;
	size_t		 i;

	out->kind = "label";
	out->op = json_is_true(json_object_get(root, "neg")) ? "negate" :
	    "apply";
	if (sget(root, "uri") == NULL || sget(root, "cts") == NULL)
		return atc_seterr(reason, reasonlen, "bad envelope: label "
		    "without uri or cts");
	out->uri = atc_xstrdup(sget(root, "uri"));
	l = json_object();
	for (i = 0; i < ATC_NELEM(keys); i++)
		if ((v = json_object_get(root, keys[i])) != NULL &&
		    !json_is_null(v))
			json_object_set(l, keys[i], (json_t *)v);
	arr = json_array();
	json_array_append_new(arr, l);
	json_object_set_new(body, "labels", arr);
	return 0;
}

int
map_life(struct map_call *out, const json_t *root, char *reason,
    size_t reasonlen)
{
	const char	*kind = sget(root, "kind"), *did = sget(root, "did");
	json_t		*body;
	char		 path[64];
	int		 rc;

	body = json_object();
	if (kind != NULL && (did == NULL ||
	    atc_syntax_did(did, NULL, 0) == -1)) {
		json_decref(body);
		return atc_seterr(reason, reasonlen, "bad envelope: did");
	}
	if (kind == NULL)
		rc = life_label(out, root, body, reason, reasonlen);
	else if (strcmp(kind, "identity") == 0)
		rc = life_identity(out, root, did, body, reason, reasonlen);
	else if (strcmp(kind, "account") == 0)
		rc = life_account(out, root, did, body, reason, reasonlen);
	else
		rc = life_profile(out, root, did, body, reason, reasonlen);
	if (rc == 0 && out->uri == NULL)
		out->uri = atc_xstrdup(did);
	if (rc == 0) {
		(void)snprintf(path, sizeof(path), "/api/integration/%s",
		    strcmp(out->kind, "label") == 0 ? "labels" : out->kind);
		out->method = MAP_POST;
		out->path = atc_xstrdup(path);
		if ((out->body = json_dumps(body, JSON_COMPACT)) == NULL)
			rc = atc_seterr(reason, reasonlen, "invalid record: "
			    "not serialisable");
	}
	json_decref(body);
	return rc;
}

char *
map_life_resolved(const char *hint_body, const char *handle,
    const char *pds, bool tombstoned)
{
	json_t	*b;
	char	*text;

	if ((b = json_loads(hint_body, 0, NULL)) == NULL ||
	    !json_is_object(b)) {
		json_decref(b);
		return NULL;
	}
	json_object_set_new(b, "resolved", json_true());
	json_object_set_new(b, "handle", json_string(handle != NULL ?
	    handle : ""));
	if (pds != NULL && *pds != '\0')
		json_object_set_new(b, "pds", json_string(pds));
	else
		json_object_del(b, "pds");
	if (tombstoned)
		json_object_set_new(b, "tombstoned", json_true());
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return text;
}
