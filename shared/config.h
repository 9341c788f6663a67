/* SPDX-License-Identifier: ISC */
#ifndef ATC_CONFIG_H
#define ATC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct atc_buf;

/*
 * Settings are a table, one row each: environment name, default, parser,
 * bounds, secret flag and where the parsed value goes inside the service's
 * own config struct (offsetof). atc_config_load() is the only reader of the
 * environment in the whole project.
 */
enum atc_config_type {
	ATC_CONFIG_STR,		/* char * (heap, lives for the process) */
	ATC_CONFIG_INT,		/* long long within [min, max] */
	ATC_CONFIG_BOOL,	/* bool: 1/0/true/false/yes/no/on/off */
	ATC_CONFIG_MS,		/* long long milliseconds: "250ms", "5s", "2m", "1h", bare = ms */
};

struct atc_config_item {
	const char		*name;		/* environment variable */
	const char		*def;		/* default text; NULL = unset */
	enum atc_config_type	 type;
	size_t			 offset;	/* offsetof(service config, field) */
	long long		 min, max;	/* INT and MS bounds (both 0 = none) */
	bool			 required;	/* unset or empty is an error */
	bool			 secret;	/* never printed */
	/* Optional extra check of the text; fills err and returns -1. */
	int			(*check)(const char *value, char *err,
				    size_t errlen);
	const char		*help;		/* one line, for --help and README */
};

/* Fills cfg from the environment. Every problem is appended to errs as one
 * line; returns the number of problems (0 = OK). */
int	atc_config_load(void *cfg, const struct atc_config_item *, size_t n,
	    struct atc_buf *errs);
/* Frees the strings atc_config_load() stored in cfg and sets them NULL. */
void	atc_config_free(void *cfg, const struct atc_config_item *, size_t n);
/* Logs the effective configuration, one line, secrets redacted. */
void	atc_config_log(const void *cfg, const struct atc_config_item *,
	    size_t n);
/* Prints the table (name, default, help) to stdout. */
void	atc_config_usage(const struct atc_config_item *, size_t n);

/* Common checks for `check`. */
int	atc_config_check_url(const char *, char *err, size_t errlen);
int	atc_config_check_hostport(const char *, char *err, size_t errlen);

/* Splits "a,b,c" (spaces trimmed, empty entries skipped). Returns a new
 * NULL-terminated array of new strings; free with atc_config_list_free(). */
char	**atc_config_list(const char *, size_t *n);
void	  atc_config_list_free(char **);

/* Parses "host:port" / "[v6]:port"; host is written to host (capacity
 * hostlen). Returns 0 or -1. */
int	atc_config_split_hostport(const char *, char *host, size_t hostlen,
	    int *port);

#endif
