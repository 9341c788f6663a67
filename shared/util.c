/* SPDX-License-Identifier: ISC */
/*
 * Small process-wide helpers: allocation that aborts on exhaustion, clocks,
 * error-buffer formatting and constant-time comparison. Nothing here keeps
 * state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
oom(size_t len)
{
	char	msg[96];
	int	n;

	n = snprintf(msg, sizeof(msg),
	    "level=err event=out_of_memory size=%zu\n", len);
	if (n > 0)
		(void)write(STDERR_FILENO, msg, (size_t)n);
	abort();
}

void *
atc_xmalloc(size_t len)
{
	void	*p;

	if ((p = malloc(len ? len : 1)) == NULL)
		oom(len);
	return p;
}

void *
atc_xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		oom(n * size);
	return p;
}

void *
atc_xrealloc(void *old, size_t len)
{
	void	*p;

	if ((p = realloc(old, len ? len : 1)) == NULL)
		oom(len);
	return p;
}

char *
atc_xstrdup(const char *s)
{
	return atc_xstrndup(s, strlen(s));
}

char *
atc_xstrndup(const char *s, size_t len)
{
	char	*p;

	p = atc_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

uint64_t
atc_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
atc_wall_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
atc_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
atc_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char	*pa = a, *pb = b;
	unsigned char		 diff = 0;
	size_t			 i, n;

	/* Walk the candidate's full length so timing leaks only lengths. */
	n = alen;
	diff |= (unsigned char)(alen != blen);
	for (i = 0; i < n; i++)
		diff |= pa[i] ^ (i < blen ? pb[i] : 0);
	return diff == 0;
}
