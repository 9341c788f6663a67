/* SPDX-License-Identifier: ISC */
#ifndef ATC_CBOR_H
#define ATC_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Strict, bounded, zero-copy DAG-CBOR pull reader. A struct atc_cbor is a
 * cursor over caller-owned bytes (no allocation at all); atc_cbor_read()
 * returns one item at a time and enforces every DAG-CBOR rule as it goes,
 * including nesting depth, map key type/order/uniqueness, which needs the
 * fixed container stack kept inside the cursor. Errors name the rule and
 * the byte offset: "cbor: nesting depth > 32 at offset 1234".
 */
#define ATC_CBOR_MAXDEPTH	32		/* nested containers */
#define ATC_CBOR_MAXITEMS	131072		/* array / map entries */
#define ATC_CBOR_MAXKEY		8192		/* map key bytes */
#define ATC_CBOR_MAXINT		9007199254740991LL	/* 2^53 - 1 */

enum atc_cbor_type {
	ATC_CBOR_INT,		/* i */
	ATC_CBOR_BYTES,		/* ptr, len */
	ATC_CBOR_TEXT,		/* ptr, len: valid UTF-8, not NUL-terminated */
	ATC_CBOR_ARRAY,		/* count entries follow */
	ATC_CBOR_MAP,		/* count key/value pairs follow */
	ATC_CBOR_LINK,		/* tag 42: ptr, len = binary CID (no 00 prefix) */
	ATC_CBOR_BOOL,		/* b */
	ATC_CBOR_NULL,
};

struct atc_cbor_item {
	enum atc_cbor_type	 type;
	int64_t			 i;	/* INT value, within +/-(2^53-1) */
	bool			 b;	/* BOOL value */
	const uint8_t		*ptr;	/* BYTES/TEXT/LINK payload, borrowed */
	size_t			 len;	/* payload bytes */
	size_t			 count;	/* ARRAY entries / MAP pairs */
	size_t			 offset; /* item head, from the input's origin */
};

struct atc_cbor_level {
	size_t		 left;		/* items still to read at this level */
	bool		 map;		/* keys and values alternate */
	const uint8_t	*key;		/* previous key of a map, for ordering */
	size_t		 keylen;
};

/* Caller-owned cursor; initialise with atc_cbor_init(). */
struct atc_cbor {
	const uint8_t		*base;	/* start of the input */
	const uint8_t		*p;	/* next byte */
	const uint8_t		*end;
	size_t			 origin; /* added to offsets in errors */
	int			 depth;	/* open containers */
	bool			 started; /* the top-level item was begun */
	struct atc_cbor_level	 stack[ATC_CBOR_MAXDEPTH];
};

/* Points c at data[0..len) (borrowed; must outlive c). origin is added to
 * every reported offset (e.g. the position of a block inside a frame). */
void	atc_cbor_init(struct atc_cbor *c, const uint8_t *data, size_t len,
	    size_t origin);
/* Reads the next item into out. Containers are entered: their children
 * come from the following calls. Returns 0, or -1 and err on any violation
 * (truncation, float, tag other than 42, indefinite length, non-shortest
 * form, unsorted or duplicate key, non-text key, bad UTF-8, limits). */
int	atc_cbor_read(struct atc_cbor *c, struct atc_cbor_item *out,
	    char *err, size_t errlen);
/* Skips one whole value (validating it fully). Returns 0 or -1 and err. */
int	atc_cbor_skip(struct atc_cbor *c, char *err, size_t errlen);
/* Returns true when the top-level item is complete (every container that
 * was opened has been read to its end). */
bool	atc_cbor_done(const struct atc_cbor *c);
/* Offset (from the origin) of the next unread byte. */
size_t	atc_cbor_offset(const struct atc_cbor *c);
/* Validates that data[0..len) is exactly one DAG-CBOR value (no trailing
 * bytes). Returns 0 or -1 and err. */
int	atc_cbor_validate(const uint8_t *data, size_t len, size_t origin,
	    char *err, size_t errlen);
/* Reads one complete value from data (which may hold more after it) and
 * stores its length in *used. Returns 0 or -1 and err. */
int	atc_cbor_value_len(const uint8_t *data, size_t len, size_t origin,
	    size_t *used, char *err, size_t errlen);
/* Compares two map keys in DAG-CBOR order (length first, then bytewise):
 * <0, 0, >0. */
int	atc_cbor_keycmp(const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen);
/* Returns true when the TEXT/BYTES item equals the C string s. */
bool	atc_cbor_eq(const struct atc_cbor_item *it, const char *s);

#endif
