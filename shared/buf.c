/* SPDX-License-Identifier: ISC */
/*
 * The one buffer type. Growth doubles, so appends are amortised O(1); the
 * spare byte after len always exists so the contents can be used as a C
 * string without another copy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

void
atc_buf_init(struct atc_buf *b, size_t initial_cap)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	if (initial_cap > 0)
		atc_buf_reserve(b, initial_cap);
}

void
atc_buf_cleanup(struct atc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
atc_buf_reset(struct atc_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
atc_buf_truncate(struct atc_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

void
atc_buf_reserve(struct atc_buf *b, size_t extra)
{
	size_t	need, cap;

	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = atc_xrealloc(b->data, cap);
	b->cap = cap;
}

void
atc_buf_append(struct atc_buf *b, const void *d, size_t len)
{
	atc_buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, d, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
atc_buf_puts(struct atc_buf *b, const char *s)
{
	atc_buf_append(b, s, strlen(s));
}

void
atc_buf_putc(struct atc_buf *b, int c)
{
	atc_buf_reserve(b, 1);
	b->data[b->len++] = (uint8_t)c;
	b->data[b->len] = '\0';
}

void
atc_buf_appendf(struct atc_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	atc_buf_reserve(b, 64);
	va_start(ap, fmt);
	n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		atc_buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		(void)vsnprintf((char *)b->data + b->len, b->cap - b->len,
		    fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

const char *
atc_buf_cstr(struct atc_buf *b)
{
	if (b->data == NULL)
		return "";
	return (const char *)b->data;
}

char *
atc_buf_release(struct atc_buf *b)
{
	char	*p;

	if (b->data == NULL)
		return atc_xstrdup("");
	p = (char *)b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
