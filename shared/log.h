/* SPDX-License-Identifier: ISC */
#ifndef ATC_LOG_H
#define ATC_LOG_H

#include <stddef.h>

/*
 * One logfmt line per event on stderr, written with a single write(2):
 *   ts=2026-11-23T07:41:46.123Z level=warn svc=consumer event=frame_dropped seq=12 cause=...
 * `event` is a stable grep handle; `fmt` supplies the remaining key=value
 * pairs (may be NULL). Values that may hold spaces or quotes go through
 * atc_log_quote(). Never pass bodies, keys or tokens.
 */
enum atc_log_level {
	ATC_LOG_ERR = 0,
	ATC_LOG_WARN,
	ATC_LOG_INFO,
	ATC_LOG_DEBUG,
};

/* Sets the service name and the most verbose level printed. */
void	atc_log_init(const char *svc, enum atc_log_level level);
/* Parses "err|warn|info|debug"; returns -1 when unknown. */
int	atc_log_level_parse(const char *, enum atc_log_level *out);
int	atc_log_enabled(enum atc_log_level);

void	atc_log(enum atc_log_level, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Like atc_log at warn level, appending err="strerror(errno)". */
void	atc_log_errno(const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define atc_log_err(ev, ...)	atc_log(ATC_LOG_ERR, ev, __VA_ARGS__)
#define atc_log_warn(ev, ...)	atc_log(ATC_LOG_WARN, ev, __VA_ARGS__)
#define atc_log_info(ev, ...)	atc_log(ATC_LOG_INFO, ev, __VA_ARGS__)
#define atc_log_debug(ev, ...)	do {					\
	if (atc_log_enabled(ATC_LOG_DEBUG))				\
		atc_log(ATC_LOG_DEBUG, ev, __VA_ARGS__);		\
} while (0)

/* Writes s as a double-quoted logfmt value into dst (capacity dstlen),
 * escaping quotes, backslashes and control bytes, truncating to fit.
 * Returns dst. */
const char	*atc_log_quote(char *dst, size_t dstlen, const char *s);

/* Prints "event: message" and exits 1. Startup and impossible states only. */
void	atc_fatal(const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
