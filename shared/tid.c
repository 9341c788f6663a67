/* SPDX-License-Identifier: ISC */
/*
 * TID codec. The 64-bit value is split into 13 groups of 5 bits, most
 * significant first (the first group holds the 64-bit value's top bit,
 * which must be 0, so its character is one of "234567ab"). Because the alphabet
 * is in ASCII order, comparing strings compares values: atc_tid_cmp_str()
 * relies on that.
 */
#include <string.h>

#include "tid.h"
#include "util.h"

#define US_MAX	((UINT64_C(1) << 53) - 1)

static const char	alphabet[] = "234567abcdefghijklmnopqrstuvwxyz";

static int
char_value(int c)
{
	if (c >= '2' && c <= '7')
		return c - '2';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 6;
	return -1;
}

int
atc_tid_parse(struct atc_tid *out, const char *s, char *err, size_t errlen)
{
	uint64_t	v;
	size_t		i;
	int		d;

	v = 0;
	for (i = 0; i < ATC_TID_STRLEN; i++) {
		if ((d = char_value((unsigned char)s[i])) == -1)
			return atc_seterr(err, errlen, "TID has a character "
			    "outside base32-sortable at offset %zu", i);
		/* 65 bits of text for 64 of value, whose top bit is 0. */
		if (i == 0 && d >= 8)
			return atc_seterr(err, errlen, "TID top bit is set");
		v = (v << 5) | (uint64_t)d;
	}
	if (s[ATC_TID_STRLEN] != '\0')
		return atc_seterr(err, errlen, "TID longer than %d characters",
		    ATC_TID_STRLEN);
	out->us = v >> 10;
	out->clock_id = (uint16_t)(v & ATC_TID_CLOCK_MAX);
	return 0;
}

int
atc_tid_format(char *out, size_t outlen, const struct atc_tid *t)
{
	uint64_t	v;
	int		i;

	if (outlen < ATC_TID_STRLEN + 1 || t->us > US_MAX ||
	    t->clock_id > ATC_TID_CLOCK_MAX)
		return -1;
	v = (t->us << 10) | t->clock_id;
	for (i = ATC_TID_STRLEN - 1; i >= 0; i--) {
		out[i] = alphabet[v & 31];
		v >>= 5;
	}
	out[ATC_TID_STRLEN] = '\0';
	return 0;
}

int
atc_tid_cmp(const struct atc_tid *a, const struct atc_tid *b)
{
	if (a->us != b->us)
		return a->us < b->us ? -1 : 1;
	if (a->clock_id != b->clock_id)
		return a->clock_id < b->clock_id ? -1 : 1;
	return 0;
}

int
atc_tid_cmp_str(const char *a, const char *b)
{
	int	r;

	r = strncmp(a, b, ATC_TID_STRLEN);
	return r < 0 ? -1 : r > 0;
}
