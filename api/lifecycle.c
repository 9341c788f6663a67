/* SPDX-License-Identifier: ISC */
/*
 * Identity, account, profile and label bodies -> database operations.
 * Everything the database stores is rebuilt here from checked fields
 * (never the body passed through), so the SQL side trusts its input's
 * shape: DIDs, handles, CIDs and datetimes are syntax-checked, sizes are
 * bounded, and a 422 names every bad field at once.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "input.h"
#include "lifecycle.h"
#include "syntax.h"
#include "util.h"
#include "validate.h"

#define DID_MAX		2048
#define URL_MAX		512
#define NAME_MAX_LEN	640	/* app.bsky.actor.profile displayName */
#define DESC_MAX_LEN	2560	/* app.bsky.actor.profile description */
#define STATUS_MAX	64
#define DATE_LEN	48

static void
bad(json_t *errors, const char *field, const char *msg)
{
	json_object_set_new(errors, field, json_string(msg));
}

/* The member, or NULL when absent or null. */
static const json_t *
member(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

static const char *
check_did(const json_t *body, const char *field, json_t *errors)
{
	const char	*did = json_string_value(member(body, field));

	if (did == NULL || strlen(did) > DID_MAX ||
	    atc_syntax_did(did, NULL, 0) == -1) {
		bad(errors, field, "must be a DID");
		return NULL;
	}
	return did;
}

/* Optional non-negative integer seq, copied into out. */
static void
check_seq(const json_t *body, json_t *out, json_t *errors)
{
	const json_t	*v = member(body, "seq");

	if (v == NULL)
		return;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		bad(errors, "seq", "must be a non-negative integer");
	else
		json_object_set_new(out, "seq",
		    json_integer(json_integer_value(v)));
}

/* Optional datetime field, normalised into out under the same name. */
static void
check_time(const json_t *body, const char *field, const char *outname,
    json_t *out, json_t *errors)
{
	const json_t	*v = member(body, field);
	const char	*s;
	char		 norm[DATE_LEN];

	if (v == NULL)
		return;
	if ((s = json_string_value(v)) == NULL || strlen(s) >= DATE_LEN ||
	    api_datetime_normalize(s, norm, sizeof(norm)) == -1)
		bad(errors, field, "must be an ISO 8601 datetime");
	else
		json_object_set_new(out, outname, json_string(norm));
}

/* An http(s) origin-like URL without whitespace, quotes or query. */
static int
url_ok(const char *s)
{
	const char	*p;
	size_t		 n = strlen(s);

	if (n > URL_MAX || (strncmp(s, "https://", 8) != 0 &&
	    strncmp(s, "http://", 7) != 0) || n < 9)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p) || strchr("\"'<>\\?#&",
		    *p) != NULL)
			return 0;
	return 1;
}

static void
check_pds(const json_t *body, json_t *out, json_t *errors)
{
	const json_t	*v = member(body, "pds");
	const char	*s;

	if (v == NULL)
		return;
	if ((s = json_string_value(v)) == NULL || !url_ok(s))
		bad(errors, "pds", "must be an http(s) URL");
	else
		json_object_set_new(out, "pds", json_string(s));
}

static void
check_bool(const json_t *body, const char *field, json_t *out,
    json_t *errors)
{
	const json_t	*v = member(body, field);

	if (v == NULL)
		return;
	if (!json_is_boolean(v))
		bad(errors, field, "must be a boolean");
	else
		json_object_set(out, field, (json_t *)v);
}

/* Shared ending: *out is op when errors is empty, else NULL. */
static int
finish(json_t *op, json_t **out, json_t *errors)
{
	if (json_object_size(errors) > 0) {
		json_decref(op);
		*out = NULL;
		return -1;
	}
	*out = op;
	return 0;
}

static int
body_object(const json_t *body, json_t **out, json_t *errors)
{
	*out = NULL;
	if (json_is_object(body))
		return 0;
	bad(errors, "body", "must be a JSON object");
	return -1;
}

int
lifecycle_identity(const json_t *body, json_t **out, json_t *errors)
{
	const json_t	*v;
	const char	*did, *h;
	json_t		*op;
	bool		 resolved;

	if (body_object(body, out, errors) == -1)
		return -1;
	op = json_object();
	if ((did = check_did(body, "did", errors)) != NULL)
		json_object_set_new(op, "did", json_string(did));
	check_seq(body, op, errors);
	check_time(body, "time", "time", op, errors);
	check_pds(body, op, errors);
	check_bool(body, "resolved", op, errors);
	check_bool(body, "tombstoned", op, errors);
	resolved = json_is_true(member(body, "resolved"));
	/* A resolved "" or handle.invalid means "not verified"; a hint is
	 * never stored, so only its type matters. */
	if ((v = member(body, "handle")) != NULL) {
		if ((h = json_string_value(v)) == NULL ||
		    strlen(h) > 253)
			bad(errors, "handle", "must be a handle");
		else if (resolved && *h != '\0' &&
		    strcmp(h, "handle.invalid") != 0 &&
		    atc_syntax_handle(h, NULL, 0) == -1)
			bad(errors, "handle", "must be a handle");
		else if (resolved && strcmp(h, "handle.invalid") != 0)
			json_object_set_new(op, "handle", json_string(h));
	}
	return finish(op, out, errors);
}

int
lifecycle_account(const json_t *body, json_t **out, json_t *errors)
{
	const json_t	*v;
	const char	*did, *st, *p;
	json_t		*op;

	if (body_object(body, out, errors) == -1)
		return -1;
	op = json_object();
	if ((did = check_did(body, "did", errors)) != NULL)
		json_object_set_new(op, "did", json_string(did));
	if (!json_is_boolean(v = member(body, "active")))
		bad(errors, "active", "is required and must be a boolean");
	else
		json_object_set(op, "active", (json_t *)v);
	/* Unknown statuses are kept as they come, within a sane alphabet. */
	if ((v = member(body, "status")) != NULL) {
		st = json_string_value(v);
		for (p = st; p != NULL && *p != '\0'; p++)
			if (!islower((unsigned char)*p) && *p != '_' &&
			    *p != '-')
				break;
		if (st == NULL || *st == '\0' || strlen(st) > STATUS_MAX ||
		    *p != '\0')
			bad(errors, "status", "must be a status name");
		else
			json_object_set_new(op, "status", json_string(st));
	}
	check_seq(body, op, errors);
	check_time(body, "time", "time", op, errors);
	return finish(op, out, errors);
}

/* A blob reference of the profile record: {"$type":"blob","ref":{"$link":
 * CID}, ...} or the legacy {"cid": CID}; stores the CID in op[outname]. */
static void
profile_blob(const json_t *rec, const char *field, const char *errname,
    const char *outname, json_t *op, json_t *errors)
{
	const json_t	*v = member(rec, field);
	const char	*cid;

	if (v == NULL)
		return;
	cid = json_string_value(json_object_get(json_object_get(v, "ref"),
	    "$link"));
	if (cid == NULL)
		cid = json_string_value(json_object_get(v, "cid"));
	if (!json_is_object(v) || cid == NULL || strlen(cid) > 256 ||
	    atc_syntax_cid(cid, NULL, 0) == -1)
		bad(errors, errname, "must be a blob with a CID");
	else
		json_object_set_new(op, outname, json_string(cid));
}

static void
profile_text(const json_t *rec, const char *field, size_t max,
    const char *errname, json_t *op, json_t *errors)
{
	const json_t	*v = member(rec, field);
	const char	*s;

	if (v == NULL)
		return;
	if ((s = json_string_value(v)) == NULL || strlen(s) > max)
		bad(errors, errname, "must be a string within the lexicon's "
		    "length");
	else
		json_object_set_new(op, field, json_string(s));
}

int
lifecycle_profile(const json_t *body, json_t **out, json_t *errors)
{
	const json_t	*rec;
	const char	*did, *opname, *rev;
	json_t		*op;
	bool		 del;

	if (body_object(body, out, errors) == -1)
		return -1;
	op = json_object();
	if ((did = check_did(body, "did", errors)) != NULL)
		json_object_set_new(op, "did", json_string(did));
	opname = json_string_value(member(body, "operation"));
	if (opname == NULL || (strcmp(opname, "create") != 0 &&
	    strcmp(opname, "update") != 0 && strcmp(opname, "delete") != 0)) {
		bad(errors, "operation", "must be create, update or delete");
		opname = NULL;
	} else
		json_object_set_new(op, "operation", json_string(opname));
	del = opname != NULL && strcmp(opname, "delete") == 0;
	if (member(body, "rev") != NULL) {
		if ((rev = json_string_value(member(body, "rev"))) == NULL ||
		    !api_rev_ok(rev))
			bad(errors, "rev", "must be a repo rev (TID)");
		else
			json_object_set_new(op, "rev", json_string(rev));
	}
	check_time(body, "time", "time", op, errors);
	check_pds(body, op, errors);
	rec = member(body, "record");
	if (!del && opname != NULL && !json_is_object(rec))
		bad(errors, "record", "is required and must be an object");
	else if (!del && rec != NULL) {
		profile_text(rec, "displayName", NAME_MAX_LEN,
		    "record.displayName", op, errors);
		profile_text(rec, "description", DESC_MAX_LEN,
		    "record.description", op, errors);
		profile_blob(rec, "avatar", "record.avatar", "avatarCid", op,
		    errors);
		profile_blob(rec, "banner", "record.banner", "bannerCid", op,
		    errors);
	}
	return finish(op, out, errors);
}

/* Normalised datetime v into o[name]; -1 when absent or malformed. */
static int
label_time(const json_t *v, json_t *o, const char *name)
{
	const char	*s = json_string_value(v);
	char		 norm[DATE_LEN];

	if (s == NULL || strlen(s) >= DATE_LEN ||
	    api_datetime_normalize(s, norm, sizeof(norm)) == -1)
		return -1;
	json_object_set_new(o, name, json_string(norm));
	return 0;
}

/* One label into a new object, errors named labels[i].field. */
static json_t *
label_one(const json_t *l, size_t i, json_t *errors)
{
	json_t		*o;
	const json_t	*v;
	const char	*s;
	char		 name[64];
	size_t		 before = json_object_size(errors);

#define LBAD(f, m) do {							\
	(void)snprintf(name, sizeof(name), "labels[%zu].%s", i, f);	\
	bad(errors, name, m);						\
} while (0)
	o = json_object();
	if (!json_is_object(l)) {
		(void)snprintf(name, sizeof(name), "labels[%zu]", i);
		bad(errors, name, "must be an object");
		json_decref(o);
		return NULL;
	}
	if ((s = json_string_value(member(l, "src"))) == NULL ||
	    strlen(s) > DID_MAX || atc_syntax_did(s, NULL, 0) == -1)
		LBAD("src", "must be a DID");
	else
		json_object_set_new(o, "src", json_string(s));
	/* Subjects are records (at-uri) or accounts (DID). */
	if ((s = json_string_value(member(l, "uri"))) == NULL ||
	    strlen(s) > 8192 || (atc_syntax_at_uri(s, NULL, NULL, 0) == -1 &&
	    atc_syntax_did(s, NULL, 0) == -1))
		LBAD("uri", "must be an at-uri or a DID");
	else
		json_object_set_new(o, "uri", json_string(s));
	if ((s = json_string_value(member(l, "val"))) == NULL || *s == '\0' ||
	    strlen(s) > LIFECYCLE_VAL_MAX)
		LBAD("val", "must be a label value of 1-128 bytes");
	else
		json_object_set_new(o, "val", json_string(s));
	if ((v = member(l, "cid")) != NULL) {
		if ((s = json_string_value(v)) == NULL || strlen(s) > 256 ||
		    atc_syntax_cid(s, NULL, 0) == -1)
			LBAD("cid", "must be a CID");
		else
			json_object_set_new(o, "cid", json_string(s));
	}
	if ((v = member(l, "neg")) != NULL && !json_is_boolean(v))
		LBAD("neg", "must be a boolean");
	json_object_set_new(o, "neg", json_boolean(json_is_true(v)));
	if (label_time(member(l, "cts"), o, "cts") != 0)
		LBAD("cts", "is required: an ISO 8601 datetime");
	if ((v = member(l, "exp")) != NULL && label_time(v, o, "exp") != 0)
		LBAD("exp", "must be an ISO 8601 datetime");
#undef LBAD
	if (json_object_size(errors) > before) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
lifecycle_labels(const json_t *body, json_t **out, json_t *errors)
{
	const json_t	*arr, *l;
	json_t		*res, *o;
	size_t		 i;

	*out = NULL;
	arr = json_is_array(body) ? body : json_object_get(body, "labels");
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		bad(errors, "labels", "must be a non-empty array of labels");
		return -1;
	}
	if (json_array_size(arr) > LIFECYCLE_LABELS_MAX) {
		bad(errors, "labels", "at most 1000 labels a request");
		return -1;
	}
	res = json_array();
	json_array_foreach(arr, i, l) {
		if ((o = label_one(l, i, errors)) != NULL)
			json_array_append_new(res, o);
	}
	return finish(res, out, errors);
}

char *
lifecycle_hide_values(const char *csv, char *err, size_t errlen)
{
	json_t		*vals;
	const char	*p, *end, *next;
	char		*text, v[LIFECYCLE_VAL_MAX + 1];
	size_t		 n;

	vals = json_pack("[s, s]", "!hide", "!takedown");
	for (p = csv; p != NULL && *p != '\0'; p = next) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		next = *end == ',' ? end + 1 : end;
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if ((n = (size_t)(end - p)) == 0)
			continue;
		if (n > LIFECYCLE_VAL_MAX) {
			json_decref(vals);
			atc_seterr(err, errlen, "label value longer than %d "
			    "bytes", LIFECYCLE_VAL_MAX);
			return NULL;
		}
		memcpy(v, p, n);
		v[n] = '\0';
		if (json_array_append_new(vals, json_string(v)) == -1) {
			json_decref(vals);
			atc_seterr(err, errlen, "label value is not UTF-8");
			return NULL;
		}
	}
	if ((text = json_dumps(vals, JSON_COMPACT)) == NULL)
		abort();
	json_decref(vals);
	return text;
}
