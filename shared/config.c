/* SPDX-License-Identifier: ISC */
/*
 * The only module that reads the environment. Each service describes its
 * settings as a table (Redis static_configs style); this module parses them
 * once at startup into the service's const config struct, reporting every
 * problem rather than the first, and logs the result with secrets redacted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "util.h"

static int
parse_int(const char *s, long long *out)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
parse_ms(const char *s, long long *out)
{
	char		*end;
	long long	 v, mult = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else
		return -1;
	if (v > (long long)(9e15 / (double)mult))
		return -1;
	*out = v * mult;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "1") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		*out = true;
	else if (!strcasecmp(s, "0") || !strcasecmp(s, "false") ||
	    !strcasecmp(s, "no") || !strcasecmp(s, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int
load_one(void *cfg, const struct atc_config_item *it, struct atc_buf *errs)
{
	const char	*v;
	char		 err[ATC_ERRLEN];
	char		*field = (char *)cfg + it->offset;
	long long	 n;
	bool		 b;

	v = getenv(it->name);
	if (v == NULL || *v == '\0')
		v = it->def;
	if (v == NULL || *v == '\0') {
		if (it->required) {
			atc_buf_appendf(errs, "%s: required but not set\n",
			    it->name);
			return 1;
		}
		if (it->type == ATC_CONFIG_STR)
			*(char **)(void *)field = NULL;
		return 0;
	}
	if (it->check != NULL && it->check(v, err, sizeof(err)) == -1) {
		atc_buf_appendf(errs, "%s: %s\n", it->name, err);
		return 1;
	}
	switch (it->type) {
	case ATC_CONFIG_STR:
		*(char **)(void *)field = atc_xstrdup(v);
		return 0;
	case ATC_CONFIG_BOOL:
		if (parse_bool(v, &b) == -1) {
			atc_buf_appendf(errs, "%s: not a boolean\n", it->name);
			return 1;
		}
		*(bool *)(void *)field = b;
		return 0;
	case ATC_CONFIG_INT:
	case ATC_CONFIG_MS:
		if ((it->type == ATC_CONFIG_INT ? parse_int(v, &n) :
		    parse_ms(v, &n)) == -1) {
			atc_buf_appendf(errs, "%s: not a%s\n", it->name,
			    it->type == ATC_CONFIG_INT ? "n integer" :
			    " duration (e.g. 500ms, 5s, 2m, 1h)");
			return 1;
		}
		if ((it->min != 0 || it->max != 0) &&
		    (n < it->min || n > it->max)) {
			atc_buf_appendf(errs, "%s: %lld out of range [%lld, %lld]\n",
			    it->name, n, it->min, it->max);
			return 1;
		}
		*(long long *)(void *)field = n;
		return 0;
	}
	return 0;
}

int
atc_config_load(void *cfg, const struct atc_config_item *items, size_t n,
    struct atc_buf *errs)
{
	size_t	i;
	int	problems = 0;

	for (i = 0; i < n; i++)
		problems += load_one(cfg, &items[i], errs);
	return problems;
}

void
atc_config_free(void *cfg, const struct atc_config_item *items, size_t n)
{
	char	**field;
	size_t	  i;

	for (i = 0; i < n; i++) {
		if (items[i].type != ATC_CONFIG_STR)
			continue;
		field = (char **)(void *)((char *)cfg + items[i].offset);
		free(*field);
		*field = NULL;
	}
}

void
atc_config_log(const void *cfg, const struct atc_config_item *items, size_t n)
{
	struct atc_buf	 b;
	const char	*field;
	char		 q[512];
	size_t		 i;

	atc_buf_init(&b, 512);
	for (i = 0; i < n; i++) {
		field = (const char *)cfg + items[i].offset;
		atc_buf_appendf(&b, "%s%s=", i ? " " : "", items[i].name);
		switch (items[i].type) {
		case ATC_CONFIG_STR:
			if (*(char *const *)(const void *)field == NULL)
				atc_buf_puts(&b, "\"\"");
			else if (items[i].secret)
				atc_buf_puts(&b, "\"<redacted>\"");
			else
				atc_buf_puts(&b, atc_log_quote(q, sizeof(q),
				    *(char *const *)(const void *)field));
			break;
		case ATC_CONFIG_BOOL:
			atc_buf_puts(&b, *(const bool *)(const void *)field ?
			    "true" : "false");
			break;
		case ATC_CONFIG_INT:
		case ATC_CONFIG_MS:
			atc_buf_appendf(&b, "%lld",
			    *(const long long *)(const void *)field);
			break;
		}
	}
	atc_log_info("config", "%s", atc_buf_cstr(&b));
	atc_buf_cleanup(&b);
}

void
atc_config_usage(const struct atc_config_item *items, size_t n)
{
	size_t	i;

	printf("Environment:\n");
	for (i = 0; i < n; i++)
		printf("  %-28s %s (default: %s)\n", items[i].name,
		    items[i].help ? items[i].help : "",
		    items[i].def ? (*items[i].def ? items[i].def : "empty") :
		    "unset");
}

int
atc_config_check_url(const char *v, char *err, size_t errlen)
{
	const char	*p;

	if ((p = strstr(v, "://")) == NULL || p == v)
		return atc_seterr(err, errlen, "not a URL: missing scheme://");
	for (; v < p; v++)
		if (!isalpha((unsigned char)*v) && *v != '+' && *v != '-')
			return atc_seterr(err, errlen, "bad URL scheme");
	if (p[3] == '\0' || p[3] == '/')
		return atc_seterr(err, errlen, "URL has no host");
	return 0;
}

int
atc_config_split_hostport(const char *v, char *host, size_t hostlen,
    int *port)
{
	const char	*colon, *hs = v, *he;
	long long	 n;

	if (*v == '[') {
		if ((he = strchr(v, ']')) == NULL || he[1] != ':')
			return -1;
		hs = v + 1;
		colon = he + 1;
	} else {
		if ((colon = strrchr(v, ':')) == NULL)
			return -1;
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= hostlen)
		return -1;
	if (parse_int(colon + 1, &n) == -1 || n < 1 || n > 65535)
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (int)n;
	return 0;
}

int
atc_config_check_hostport(const char *v, char *err, size_t errlen)
{
	char	host[256];
	int	port;

	if (atc_config_split_hostport(v, host, sizeof(host), &port) == -1)
		return atc_seterr(err, errlen, "expected HOST:PORT");
	return 0;
}

char **
atc_config_list(const char *s, size_t *n)
{
	char		**out;
	const char	 *p, *start, *end;
	size_t		  cap = 4, cnt = 0;

	out = atc_xcalloc(cap + 1, sizeof(*out));
	for (p = s; p != NULL && *p != '\0'; ) {
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		if (*p == ',')
			p++;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end == start)
			continue;
		if (cnt == cap) {
			cap *= 2;
			out = atc_xrealloc(out, (cap + 1) * sizeof(*out));
		}
		out[cnt++] = atc_xstrndup(start, (size_t)(end - start));
		out[cnt] = NULL;
	}
	if (n != NULL)
		*n = cnt;
	return out;
}

void
atc_config_list_free(char **list)
{
	size_t	i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}
