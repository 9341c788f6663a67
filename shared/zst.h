/* SPDX-License-Identifier: ISC */
#ifndef ATC_ZST_H
#define ATC_ZST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct atc_buf;

/*
 * zstd decompression; zst.c is the only libzstd caller. Every output is
 * capped by the caller's max_out before it can grow past it, so a small
 * hostile input cannot expand into unbounded memory.
 */

/* True when data starts with the zstd frame magic (28 b5 2f fd). */
bool	atc_zst_is_zstd(const void *data, size_t len);

/* Decompresses all (possibly concatenated) zstd frames of src[0..len),
 * appending to out. Returns 0, or -1 and err ("zstd: output exceeds N
 * bytes", corrupt input, truncated). */
int	atc_zst_decompress(struct atc_buf *out, const void *src, size_t len,
	    size_t max_out, char *err, size_t errlen);

/* A reusable decompression context, optionally with a dictionary (Jetstream
 * compress=true sends each message as one zstd frame made with its
 * dictionary). Returns a new context; free with atc_zst_free(). NULL and
 * err on a bad dictionary. dict is copied; may be NULL. */
struct atc_zst;
struct atc_zst	*atc_zst_new(const void *dict, size_t dictlen, char *err,
		    size_t errlen);
void		 atc_zst_free(struct atc_zst *);
/* Decompresses one message src[0..len) with z, appending to out (at most
 * max_out bytes added). Returns 0 or -1 and err. */
int		 atc_zst_message(struct atc_zst *z, struct atc_buf *out,
		    const void *src, size_t len, size_t max_out, char *err,
		    size_t errlen);

#endif
