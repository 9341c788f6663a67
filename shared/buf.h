/* SPDX-License-Identifier: ISC */
#ifndef ATC_BUF_H
#define ATC_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A growable, length-carrying byte buffer. Caller-owned storage:
 * atc_buf_init() / atc_buf_cleanup(). Hot paths call atc_buf_reset() between
 * units of work to keep the capacity. data is always NUL-terminated past len
 * once anything was appended (the NUL is not counted). */
struct atc_buf {
	uint8_t	*data;	/* owned; NULL until the first append */
	size_t	 len;	/* bytes used */
	size_t	 cap;	/* bytes allocated */
};

void	atc_buf_init(struct atc_buf *, size_t initial_cap);
void	atc_buf_cleanup(struct atc_buf *);
void	atc_buf_reset(struct atc_buf *);
/* Shrinks the contents back to len bytes (no-op when already shorter);
 * used to undo a partial append on error. */
void	atc_buf_truncate(struct atc_buf *, size_t len);
/* Makes room for at least `extra` more bytes (+1 for the NUL). */
void	atc_buf_reserve(struct atc_buf *, size_t extra);
void	atc_buf_append(struct atc_buf *, const void *, size_t);
void	atc_buf_puts(struct atc_buf *, const char *);
void	atc_buf_putc(struct atc_buf *, int);
void	atc_buf_appendf(struct atc_buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Returns the contents as a C string (borrowed, valid until the next
 * append or cleanup); "" when empty. */
const char	*atc_buf_cstr(struct atc_buf *);
/* Hands the storage to the caller (free with free()) and resets b. */
char	*atc_buf_release(struct atc_buf *);

#endif
