/* SPDX-License-Identifier: ISC */
#ifndef ATC_ATJSON_H
#define ATC_ATJSON_H

#include <stddef.h>
#include <stdint.h>

struct atc_buf;
struct atc_cbor;

/*
 * DAG-CBOR -> atproto JSON, written straight into a struct atc_buf with no
 * intermediate tree: links become {"$link":"bafy..."}, byte strings
 * {"$bytes":"<base64, no padding>"}; blobs and every other map are written
 * as they appear, keys in their CBOR order.
 */

/* Appends the JSON form of the single DAG-CBOR value data[0..len) (no
 * trailing bytes allowed) to out. origin is added to error offsets.
 * Returns 0, or -1 and err; on error out is restored to its old length. */
int	atc_atjson_write(struct atc_buf *out, const uint8_t *data, size_t len,
	    size_t origin, char *err, size_t errlen);
/* Appends the JSON form of the next value read from cursor c. Returns 0,
 * or -1 and err (out then holds a partial value: the caller truncates). */
int	atc_atjson_write_value(struct atc_buf *out, struct atc_cbor *c,
	    char *err, size_t errlen);
/* Appends s[0..len) (valid UTF-8) as a quoted, escaped JSON string. */
void	atc_atjson_string(struct atc_buf *out, const char *s, size_t len);
/* Appends the unpadded standard base64 of data[0..len). */
void	atc_atjson_base64(struct atc_buf *out, const uint8_t *data,
	    size_t len);

#endif
