/* SPDX-License-Identifier: ISC */
/*
 * Validators for the AT Protocol string formats (DID, handle, NSID, record
 * key, at-uri, TID, datetime, CID). Hand-written scanners instead of
 * regexes: every check is a bounded single pass over bytes, rejects any
 * non-ASCII byte and never allocates, so it is safe on hostile input and
 * cheap on the hot path. The JSON data-model validator is in syntax_json.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "syntax.h"
#include "util.h"

#define DID_MAXLEN	2048
#define HANDLE_MAXLEN	253
#define LABEL_MAXLEN	63
#define NSID_MAXLEN	317
#define RKEY_MAXLEN	512
#define ATURI_MAXLEN	8192
#define DATETIME_MAXLEN	64
#define CID_MAXLEN	256	/* chars; binary CIDs are <= 100 bytes */

static bool
is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_alpha(int c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* did:method:id on s[0..len). */
static int
did_check(const char *s, size_t len, char *err, size_t errlen)
{
	size_t	i;
	char	c;

	if (len > DID_MAXLEN)
		return atc_seterr(err, errlen, "DID longer than %d bytes",
		    DID_MAXLEN);
	if (len < 4 || memcmp(s, "did:", 4) != 0)
		return atc_seterr(err, errlen, "DID must start with \"did:\"");
	for (i = 4; i < len && is_lower(s[i]); i++)
		;
	if (i == 4 || i >= len || s[i] != ':')
		return atc_seterr(err, errlen,
		    "DID method must be lower-case letters followed by ':'");
	if (++i >= len)
		return atc_seterr(err, errlen, "DID identifier is empty");
	for (; i < len; i++) {
		c = s[i];
		if (!is_alnum(c) && c != '.' && c != '_' && c != ':' &&
		    c != '%' && c != '-')
			return atc_seterr(err, errlen,
			    "DID has a forbidden character at offset %zu", i);
	}
	c = s[len - 1];
	if (c == ':' || c == '%')
		return atc_seterr(err, errlen, "DID may not end with '%c'", c);
	return 0;
}

/* Dot-separated DNS labels [A-Za-z0-9-]{1,63} without edge hyphens. Counts
 * them into *nlabels; the last label starts at *last. */
static int
labels_check(const char *s, size_t len, size_t *nlabels, size_t *last,
    char *err, size_t errlen)
{
	size_t	i, start;

	*nlabels = 0;
	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-')
				return atc_seterr(err, errlen, "forbidden "
				    "character at offset %zu", i);
			continue;
		}
		if (i == start)
			return atc_seterr(err, errlen, "empty label at "
			    "offset %zu", i);
		if (i - start > LABEL_MAXLEN)
			return atc_seterr(err, errlen, "label longer than %d "
			    "bytes at offset %zu", LABEL_MAXLEN, start);
		if (s[start] == '-' || s[i - 1] == '-')
			return atc_seterr(err, errlen, "label starts or ends "
			    "with '-' at offset %zu", start);
		*last = start;
		(*nlabels)++;
		start = i + 1;
	}
	return 0;
}

static int
handle_check(const char *s, size_t len, char *err, size_t errlen)
{
	size_t	nlabels, last;

	if (len > HANDLE_MAXLEN)
		return atc_seterr(err, errlen, "handle longer than %d bytes",
		    HANDLE_MAXLEN);
	if (labels_check(s, len, &nlabels, &last, err, errlen) == -1)
		return -1;
	if (nlabels < 2)
		return atc_seterr(err, errlen, "handle needs two labels or "
		    "more");
	if (!is_alpha(s[last]))
		return atc_seterr(err, errlen, "handle TLD must start with a "
		    "letter");
	return 0;
}

static int
nsid_check(const char *s, size_t len, char *err, size_t errlen)
{
	size_t	i, nlabels, last;

	if (len > NSID_MAXLEN)
		return atc_seterr(err, errlen, "NSID longer than %d bytes",
		    NSID_MAXLEN);
	if (labels_check(s, len, &nlabels, &last, err, errlen) == -1)
		return -1;
	if (nlabels < 3)
		return atc_seterr(err, errlen, "NSID needs three segments or "
		    "more");
	if (!is_alpha(s[0]))
		return atc_seterr(err, errlen, "NSID must start with a letter");
	if (!is_alpha(s[last]))
		return atc_seterr(err, errlen, "NSID name must start with a "
		    "letter");
	for (i = last; i < len; i++)
		if (!is_alnum(s[i]))
			return atc_seterr(err, errlen, "NSID name must be "
			    "letters and digits");
	return 0;
}

static int
rkey_check(const char *s, size_t len, char *err, size_t errlen)
{
	size_t	i;
	char	c;

	if (len == 0 || len > RKEY_MAXLEN)
		return atc_seterr(err, errlen, "record key must be 1 to %d "
		    "bytes", RKEY_MAXLEN);
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return atc_seterr(err, errlen, "record key may not be \".\" "
		    "or \"..\"");
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!is_alnum(c) && c != '.' && c != '-' && c != '_' &&
		    c != ':' && c != '~')
			return atc_seterr(err, errlen, "record key has a "
			    "forbidden character at offset %zu", i);
	}
	return 0;
}

int
atc_syntax_did(const char *s, char *err, size_t errlen)
{
	return did_check(s, strlen(s), err, errlen);
}

int
atc_syntax_handle(const char *s, char *err, size_t errlen)
{
	return handle_check(s, strlen(s), err, errlen);
}

int
atc_syntax_nsid(const char *s, char *err, size_t errlen)
{
	return nsid_check(s, strlen(s), err, errlen);
}

int
atc_syntax_rkey(const char *s, char *err, size_t errlen)
{
	return rkey_check(s, strlen(s), err, errlen);
}

int
atc_syntax_repo_path(const char *s, char *err, size_t errlen)
{
	const char	*slash;

	if ((slash = strchr(s, '/')) == NULL)
		return atc_seterr(err, errlen, "repo path has no '/'");
	if (nsid_check(s, (size_t)(slash - s), err, errlen) == -1)
		return -1;
	return rkey_check(slash + 1, strlen(slash + 1), err, errlen);
}

int
atc_syntax_tid(const char *s, char *err, size_t errlen)
{
	static const char	 alpha[] = "234567abcdefghijklmnopqrstuvwxyz";
	size_t			 i;

	if (strlen(s) != 13)
		return atc_seterr(err, errlen, "TID must be 13 characters");
	for (i = 0; i < 13; i++)
		if (s[i] == '\0' || strchr(alpha, s[i]) == NULL)
			return atc_seterr(err, errlen, "TID has a character "
			    "outside base32-sortable at offset %zu", i);
	/* The spec's pattern: the first character is one of 2-7, a-j. */
	if (strchr(alpha, s[0]) - alpha >= 16)
		return atc_seterr(err, errlen, "TID first character is "
		    "beyond 'j'");
	return 0;
}

/* Reads n digits at s into *out; -1 unless they are all digits. */
static int
digits(const char *s, size_t n, int *out)
{
	size_t	i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

static int
days_in_month(int year, int month)
{
	static const int	days[12] = { 31, 28, 31, 30, 31, 30, 31, 31,
				    30, 31, 30, 31 };
	bool			leap;

	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (month == 2 && leap)
		return 29;
	return days[month - 1];
}

int
atc_syntax_datetime(const char *s, char *err, size_t errlen)
{
	int		 year, mon, day, hour, min, sec, tzh, tzm;
	size_t		 len, i;

	len = strlen(s);
	if (len > DATETIME_MAXLEN)
		return atc_seterr(err, errlen, "datetime longer than %d bytes",
		    DATETIME_MAXLEN);
	/* YYYY-MM-DDTHH:MM:SS is 19 bytes, then fraction and zone. */
	if (len < 20 || digits(s, 4, &year) == -1 || s[4] != '-' ||
	    digits(s + 5, 2, &mon) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &day) == -1 || s[10] != 'T' ||
	    digits(s + 11, 2, &hour) == -1 || s[13] != ':' ||
	    digits(s + 14, 2, &min) == -1 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) == -1)
		return atc_seterr(err, errlen, "datetime is not "
		    "YYYY-MM-DDTHH:MM:SS");
	if (year == 0)
		return atc_seterr(err, errlen, "datetime year 0000");
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
		return atc_seterr(err, errlen, "datetime has no such date");
	if (hour > 23 || min > 59 || sec > 59)
		return atc_seterr(err, errlen, "datetime has no such time");
	i = 19;
	if (s[i] == '.') {
		for (i++; is_digit(s[i]); i++)
			;
		if (i == 20)
			return atc_seterr(err, errlen, "datetime fraction "
			    "has no digits");
	}
	if (s[i] == 'Z' && s[i + 1] == '\0')
		return 0;
	if ((s[i] != '+' && s[i] != '-') || len - i != 6 ||
	    digits(s + i + 1, 2, &tzh) == -1 || s[i + 3] != ':' ||
	    digits(s + i + 4, 2, &tzm) == -1)
		return atc_seterr(err, errlen, "datetime needs a zone: Z or "
		    "+HH:MM");
	if (tzh > 23 || tzm > 59)
		return atc_seterr(err, errlen, "datetime zone out of range");
	if (s[i] == '-' && tzh == 0 && tzm == 0)
		return atc_seterr(err, errlen, "datetime zone -00:00");
	return 0;
}

/* Reads an unsigned varint of at most 9 bytes from p[*off..len). */
static int
varint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
	unsigned	shift;

	*out = 0;
	for (shift = 0; shift < 63 && *off < len; shift += 7) {
		*out |= (uint64_t)(p[*off] & 0x7f) << shift;
		if ((p[(*off)++] & 0x80) == 0)
			return 0;
	}
	return -1;
}

int
atc_syntax_cid(const char *s, char *err, size_t errlen)
{
	static const char	 alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t			 bin[CID_MAXLEN];
	const char		*pos;
	size_t			 len, i, n, off;
	uint32_t		 acc;
	unsigned		 bits;
	uint64_t		 version, codec, mhcode, mhlen;

	len = strlen(s);
	if (len < 2 || len > CID_MAXLEN)
		return atc_seterr(err, errlen, "CID length out of range");
	if (s[0] != 'b')
		return atc_seterr(err, errlen, "CID must be multibase base32 "
		    "('b' prefix)");
	n = 0;
	acc = 0;
	bits = 0;
	for (i = 1; i < len; i++) {
		if (s[i] == '\0' || (pos = strchr(alpha, s[i])) == NULL)
			return atc_seterr(err, errlen, "CID has a non-base32 "
			    "character at offset %zu", i);
		acc = (acc << 5) | (uint32_t)(pos - alpha);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			bin[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 5 || acc != 0)
		return atc_seterr(err, errlen, "CID base32 has trailing bits");
	off = 0;
	if (varint(bin, n, &off, &version) == -1 || version != 1)
		return atc_seterr(err, errlen, "CID version is not 1");
	if (varint(bin, n, &off, &codec) == -1 ||
	    varint(bin, n, &off, &mhcode) == -1 ||
	    varint(bin, n, &off, &mhlen) == -1)
		return atc_seterr(err, errlen, "CID is truncated");
	if (mhlen != n - off)
		return atc_seterr(err, errlen, "CID multihash length %llu "
		    "but %zu bytes follow", (unsigned long long)mhlen, n - off);
	if (mhlen == 0)
		return atc_seterr(err, errlen, "CID digest is empty");
	return 0;
}

int
atc_syntax_at_uri(const char *s, struct atc_at_uri *out, char *err,
    size_t errlen)
{
	struct atc_at_uri	 u;
	const char		*auth, *p, *end, *slash;
	size_t			 len;

	memset(&u, 0, sizeof(u));
	len = strlen(s);
	if (len > ATURI_MAXLEN)
		return atc_seterr(err, errlen, "at-uri longer than %d bytes",
		    ATURI_MAXLEN);
	if (len < 5 || memcmp(s, "at://", 5) != 0)
		return atc_seterr(err, errlen, "at-uri must start with "
		    "\"at://\"");
	if (strpbrk(s, "?#") != NULL)
		return atc_seterr(err, errlen, "at-uri may not have a query "
		    "or fragment");
	auth = s + 5;
	end = s + len;
	p = (slash = strchr(auth, '/')) ? slash : end;
	u.authority = auth;
	u.authority_len = (size_t)(p - auth);
	if (u.authority_len >= 4 && memcmp(auth, "did:", 4) == 0) {
		if (did_check(auth, u.authority_len, err, errlen) == -1)
			return -1;
	} else if (handle_check(auth, u.authority_len, err, errlen) == -1)
		return -1;
	if (p < end) {
		u.collection = ++p;
		p = (slash = strchr(p, '/')) ? slash : end;
		u.collection_len = (size_t)(p - u.collection);
		if (nsid_check(u.collection, u.collection_len, err,
		    errlen) == -1)
			return -1;
	}
	if (p < end) {
		u.rkey = ++p;
		u.rkey_len = (size_t)(end - p);
		if (rkey_check(u.rkey, u.rkey_len, err, errlen) == -1)
			return -1;
	}
	if (out != NULL)
		*out = u;
	return 0;
}
