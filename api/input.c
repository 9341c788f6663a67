/* SPDX-License-Identifier: ISC */
/*
 * Pure syntax checks of what requests carry: at-uris (atproto rules from
 * shared/syntax.c), dates as the OpenMeet DTOs accept them (ISO 8601, more
 * lenient than atproto's RFC 3339 profile) normalised so Postgres never
 * guesses a time zone, tenant ids, numeric strings and query strings, and
 * the size limits of JSON bodies, checked in one pass over the raw text so
 * a hostile body is refused before the parser allocates anything.
 * Nothing here allocates or does I/O.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "syntax.h"
#include "util.h"

#define TENANT_MAX	64

int
api_aturi_parse(const char *uri, char *did, char *collection, char *rkey,
    size_t cap, char *err, size_t errlen)
{
	struct atc_at_uri	u;

	if (atc_syntax_at_uri(uri, &u, err, errlen) == -1)
		return -1;
	if (u.rkey == NULL)
		return atc_seterr(err, errlen,
		    "must be at://did/collection/rkey");
	if (u.authority_len < 4 || memcmp(u.authority, "did:", 4) != 0)
		return atc_seterr(err, errlen, "authority must be a DID");
	if (u.authority_len >= cap || u.collection_len >= cap ||
	    u.rkey_len >= cap)
		return atc_seterr(err, errlen, "too long");
	memcpy(did, u.authority, u.authority_len);
	did[u.authority_len] = '\0';
	memcpy(collection, u.collection, u.collection_len);
	collection[u.collection_len] = '\0';
	memcpy(rkey, u.rkey, u.rkey_len);
	rkey[u.rkey_len] = '\0';
	return 0;
}

/* Reads exactly n digits at *p into *v. */
static int
digits(const char **p, int n, int *v)
{
	int	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int	mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

int
api_datetime_normalize(const char *s, char *out, size_t outlen)
{
	const char	*p = s, *frac = NULL;
	int		 y, mo, d, h = 0, mi = 0, sec = 0, th = 0, tm = 0;
	int		 nfrac = 0, n;
	char		 sign = 'Z';

	if (strlen(s) > 64)
		return -1;
	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &d) == -1)
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p != '\0') {
		if (*p != 'T' && *p != 't')
			return -1;
		p++;
		if (digits(&p, 2, &h) == -1 || *p++ != ':' ||
		    digits(&p, 2, &mi) == -1)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) == -1)
				return -1;
			if (*p == '.' || *p == ',') {
				frac = ++p;
				while (isdigit((unsigned char)*p))
					p++;
				nfrac = (int)(p - frac);
				if (nfrac < 1 || nfrac > 9)
					return -1;
			}
		}
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			sign = *p++;
			if (digits(&p, 2, &th) == -1)
				return -1;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &tm) == -1)
				return -1;
		}
		if (*p != '\0' || h > 23 || mi > 59 || sec > 60 || th > 15 ||
		    tm > 59)
			return -1;
	}
	if (sign == 'Z')
		n = snprintf(out, outlen,
		    "%04d-%02d-%02dT%02d:%02d:%02d%s%.*sZ", y, mo, d, h, mi,
		    sec, nfrac ? "." : "", nfrac, frac ? frac : "");
	else
		n = snprintf(out, outlen,
		    "%04d-%02d-%02dT%02d:%02d:%02d%s%.*s%c%02d:%02d", y, mo, d,
		    h, mi, sec, nfrac ? "." : "", nfrac, frac ? frac : "", sign,
		    th, tm);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
api_tenant_ok(const char *s)
{
	size_t	len = strlen(s), i;

	if (len == 0 || len > TENANT_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("._-", s[i]) == NULL)
			return 0;
	return 1;
}

int
api_number_parse(const char *s, double *out)
{
	const char	*p = s;
	size_t		 nint = 0, nfrac = 0;
	double		 v;

	if (strlen(s) > 64)
		return 0;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char)*p)) {
		p++;
		nint++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			nfrac++;
		}
	}
	if (nint == 0 && nfrac == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p != '\0')
		return 0;
	v = strtod(s, NULL);
	if (!isfinite(v))
		return 0;
	*out = v;
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
api_pct_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	i, o = 0;
	int	hi, lo, c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			if ((hi = hexval((unsigned char)s[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)s[i + 2])) == -1)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
api_qs_get(const char *qs, const char *name, char *out, size_t outlen)
{
	const char	*p = qs, *amp, *eq;
	size_t		 nlen = strlen(name), plen;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		plen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', plen);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0)
			return api_pct_decode(eq + 1,
			    plen - (size_t)(eq - p) - 1, out, outlen) == -1 ?
			    -1 : 1;
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

void
api_limit_hit_set(struct api_limit_hit *hit, const char *limit, size_t max)
{
	hit->limit = limit;
	hit->max = max;
	if (strcmp(limit, "json_depth") == 0)
		hit->status = 422;
	else if (strncmp(limit, "header_", 7) == 0)
		hit->status = 431;
	else
		hit->status = 413;
}

int
api_json_limits_check(const char *buf, size_t len,
    const struct api_json_limits *lim, struct api_limit_hit *hit)
{
	size_t	commas[API_JSON_DEPTH_CAP + 1];
	size_t	i, depth = 0, slen = 0;
	bool	in_str = false, esc = false;
	int	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"') {
				in_str = false;
				continue;
			}
			if (++slen > lim->string_max) {
				api_limit_hit_set(hit, "string_length",
				    lim->string_max);
				return -1;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			slen = 0;
			break;
		case '[':
		case '{':
			if (++depth > lim->depth_max ||
			    depth > API_JSON_DEPTH_CAP) {
				api_limit_hit_set(hit, "json_depth",
				    lim->depth_max);
				return -1;
			}
			commas[depth] = 0;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case ',':
			/* n commas separate n + 1 items. */
			if (depth > 0 && ++commas[depth] >= lim->items_max) {
				api_limit_hit_set(hit, "array_size",
				    lim->items_max);
				return -1;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}
