/* SPDX-License-Identifier: ISC */
#ifndef ATC_UTIL_H
#define ATC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Error buffers filled by low layers (Redis anet style). */
#define ATC_ERRLEN	256

/* Allocation that cannot fail: out of memory aborts the process (k8s
 * restarts it). Sizes from the network must be bounded before calling. */
void	*atc_xmalloc(size_t);
void	*atc_xcalloc(size_t, size_t);
void	*atc_xrealloc(void *, size_t);
char	*atc_xstrdup(const char *);
char	*atc_xstrndup(const char *, size_t);

/* Monotonic and wall clocks. */
uint64_t	atc_mono_ms(void);
uint64_t	atc_wall_us(void);

/* Formats into err (capacity errlen, may be NULL) and returns -1, so a low
 * layer can write `return atc_seterr(err, errlen, "...", ...);`. */
int	atc_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Constant-time comparison of two byte strings; returns 1 when equal. The
 * time depends only on the lengths, never on the contents. */
int	atc_ct_equal(const void *, size_t, const void *, size_t);

#define ATC_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#endif
