/* SPDX-License-Identifier: ISC */
/*
 * Validator of the atproto JSON data model over a jansson tree: the shapes
 * of $link, $bytes and blob objects, "$type" strings, integer-only numbers
 * within the JavaScript-safe range, and a nesting cap. It reads the tree
 * only (borrowed), recursing at most MAXDEPTH levels, and reports the JSON
 * path of the first problem so a dropped record's log line says where.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "syntax.h"
#include "util.h"

#define MAXDEPTH	32
#define MAXSAFE		9007199254740991LL	/* 2^53 - 1 */
#define PATHLEN		128

static int	value_check(const json_t *, int, const char *, char *,
		    size_t);

static bool
base64_ok(const char *s, size_t len)
{
	size_t	i, pad;
	char	c;

	pad = 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	/* Unpadded is canonical; padding, when present, must be complete. */
	if (pad > 2 || (pad > 0 && len % 4 != 0))
		return false;
	return (len - pad) % 4 != 1;
}

static int
link_check(const json_t *o, const char *path, char *err, size_t errlen)
{
	const json_t	*v;
	char		 why[ATC_ERRLEN];

	if (json_object_size(o) != 1)
		return atc_seterr(err, errlen, "%s: $link object has other "
		    "keys", path);
	v = json_object_get(o, "$link");
	if (!json_is_string(v))
		return atc_seterr(err, errlen, "%s: $link is not a string",
		    path);
	if (atc_syntax_cid(json_string_value(v), why, sizeof(why)) == -1)
		return atc_seterr(err, errlen, "%s: $link: %s", path, why);
	return 0;
}

static int
bytes_check(const json_t *o, const char *path, char *err, size_t errlen)
{
	const json_t	*v;

	if (json_object_size(o) != 1)
		return atc_seterr(err, errlen, "%s: $bytes object has other "
		    "keys", path);
	v = json_object_get(o, "$bytes");
	if (!json_is_string(v))
		return atc_seterr(err, errlen, "%s: $bytes is not a string",
		    path);
	if (!base64_ok(json_string_value(v), json_string_length(v)))
		return atc_seterr(err, errlen, "%s: $bytes is not base64",
		    path);
	return 0;
}

static int
blob_check(const json_t *o, const char *path, char *err, size_t errlen)
{
	const json_t	*ref, *mime, *size;

	ref = json_object_get(o, "ref");
	mime = json_object_get(o, "mimeType");
	size = json_object_get(o, "size");
	if (!json_is_object(ref) || json_object_get(ref, "$link") == NULL)
		return atc_seterr(err, errlen, "%s: blob ref is not a $link",
		    path);
	if (!json_is_string(mime) || json_string_length(mime) == 0)
		return atc_seterr(err, errlen, "%s: blob mimeType is not a "
		    "non-empty string", path);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return atc_seterr(err, errlen, "%s: blob size is not an "
		    "integer >= 0", path);
	return 0;
}

static int
object_check(const json_t *o, int depth, const char *path, char *err,
    size_t errlen)
{
	const char	*key;
	const json_t	*v, *type;
	char		 sub[PATHLEN];

	if (json_object_get(o, "$link") != NULL)
		return link_check(o, path, err, errlen);
	if (json_object_get(o, "$bytes") != NULL)
		return bytes_check(o, path, err, errlen);
	if ((type = json_object_get(o, "$type")) != NULL) {
		if (!json_is_string(type) || json_string_length(type) == 0)
			return atc_seterr(err, errlen, "%s: $type is not a "
			    "non-empty string", path);
		if (strcmp(json_string_value(type), "blob") == 0 &&
		    blob_check(o, path, err, errlen) == -1)
			return -1;
	}
	json_object_foreach((json_t *)o, key, v) {
		/* A truncated path is still a useful hint. */
		(void)snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (value_check(v, depth + 1, sub, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
value_check(const json_t *v, int depth, const char *path, char *err,
    size_t errlen)
{
	char	sub[PATHLEN];
	double	d;
	size_t	i;

	if (depth > MAXDEPTH)
		return atc_seterr(err, errlen, "%s: nested deeper than %d",
		    path, MAXDEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return object_check(v, depth, path, err, errlen);
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(v); i++) {
			(void)snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (value_check(json_array_get(v, i), depth + 1, sub,
			    err, errlen) == -1)
				return -1;
		}
		return 0;
	case JSON_INTEGER:
		if (json_integer_value(v) > MAXSAFE ||
		    json_integer_value(v) < -MAXSAFE)
			return atc_seterr(err, errlen, "%s: integer outside "
			    "+/-(2^53-1)", path);
		return 0;
	case JSON_REAL:
		/* 123.0 is an integer written with a point: allowed. */
		d = json_real_value(v);
		if (!isfinite(d) || d != floor(d) || fabs(d) > (double)MAXSAFE)
			return atc_seterr(err, errlen, "%s: number is not an "
			    "integer", path);
		return 0;
	default:
		return 0;
	}
}

int
atc_datamodel_validate(const json_t *v, char *err, size_t errlen)
{
	if (!json_is_object(v))
		return atc_seterr(err, errlen, "top-level value is not an "
		    "object");
	return value_check(v, 0, "$", err, errlen);
}
