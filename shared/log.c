/* SPDX-License-Identifier: ISC */
/*
 * The only logger. Each call formats one complete logfmt line in a stack
 * buffer and emits it with one write(2), so lines from forked Kore workers
 * and threads never interleave. The debug level is checked before any
 * formatting happens.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_LEN	2048

static const char		*log_svc = "atcal";
static enum atc_log_level	 log_level = ATC_LOG_INFO;
static const char		*level_names[] = { "err", "warn", "info", "debug" };

void
atc_log_init(const char *svc, enum atc_log_level level)
{
	log_svc = svc;
	log_level = level;
}

int
atc_log_level_parse(const char *s, enum atc_log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum atc_log_level)i;
			return 0;
		}
	}
	return -1;
}

int
atc_log_enabled(enum atc_log_level level)
{
	return level <= log_level;
}

static void
log_emit(enum atc_log_level level, const char *event, const char *errstr,
    const char *fmt, va_list ap)
{
	char		 line[LINE_MAX_LEN];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 len;
	int		 n;

	if (!atc_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s event=%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
	    log_svc, event);
	len = n > 0 ? (size_t)n : 0;
	if (fmt != NULL && *fmt != '\0' && len < sizeof(line) - 2) {
		line[len++] = ' ';
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (errstr != NULL && len < sizeof(line) - 2) {
		n = snprintf(line + len, sizeof(line) - len, " err=\"%s\"",
		    errstr);
		if (n > 0)
			len += (size_t)n;
	}
	/* Truncated lines still end with a newline. */
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)write(STDERR_FILENO, line, len);
}

void
atc_log(enum atc_log_level level, const char *event, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(level, event, NULL, fmt, ap);
	va_end(ap);
}

void
atc_log_errno(const char *event, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_emit(ATC_LOG_WARN, event, strerror(saved), fmt, ap);
	va_end(ap);
}

const char *
atc_log_quote(char *dst, size_t dstlen, const char *s)
{
	size_t	i = 0;

	if (dstlen < 3) {
		if (dstlen > 0)
			dst[0] = '\0';
		return dst;
	}
	dst[i++] = '"';
	for (; s != NULL && *s != '\0' && i < dstlen - 3; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			dst[i++] = '\\';
			dst[i++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			dst[i++] = '?';
		} else
			dst[i++] = (char)c;
	}
	dst[i++] = '"';
	dst[i] = '\0';
	return dst;
}

void
atc_fatal(const char *event, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(ATC_LOG_ERR, event, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
