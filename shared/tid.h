/* SPDX-License-Identifier: ISC */
#ifndef ATC_TID_H
#define ATC_TID_H

#include <stddef.h>
#include <stdint.h>

/* Length of a TID string, without the NUL. */
#define ATC_TID_STRLEN	13
#define ATC_TID_CLOCK_MAX	1023

/*
 * A TID ("timestamp identifier", used for revs and record keys): a 64-bit
 * integer, top bit 0, then 53 bits of microseconds since the Unix epoch and
 * 10 bits of clock id, written as 13 chars of sortable base32 so that
 * string order is time order.
 */
struct atc_tid {
	uint64_t	us;		/* microseconds since 1970, < 2^53 */
	uint16_t	clock_id;	/* 0..ATC_TID_CLOCK_MAX */
};

/* Parses a TID string into out. Returns 0, or -1 with err filled when s is
 * not exactly 13 valid characters or the 64-bit top bit is set (first
 * character beyond 'b'). */
int	atc_tid_parse(struct atc_tid *out, const char *s, char *err,
	    size_t errlen);
/* Writes the 13-char string and a NUL into out (capacity outlen >= 14).
 * Returns 0, or -1 when outlen is too small or a field is out of range. */
int	atc_tid_format(char *out, size_t outlen, const struct atc_tid *);
/* Orders two TIDs by time then clock id: <0, 0 or >0 as a is older than,
 * equal to or newer than b. */
int	atc_tid_cmp(const struct atc_tid *a, const struct atc_tid *b);
/* Same order on two strings already known valid (atc_tid_parse); for
 * comparing stored revs. */
int	atc_tid_cmp_str(const char *a, const char *b);

#endif
