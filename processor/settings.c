/* SPDX-License-Identifier: ISC */
/*
 * The processor's settings table (one row per environment variable, parsed
 * by shared/config.c). Bounds live here: PREFETCH must cover CONCURRENCY,
 * which shared/config.c cannot know, so that cross-check is done after the
 * table is loaded. BATCH_SIZE's upper bound is the API's (500 operations).
 * Defaults suit batching: a few batch calls in flight keep the API's
 * workers busy without queueing calls past their timeout, and a window of
 * two full batches keeps the process under 16 MB.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "settings.h"
#include "util.h"

static int
check_level(const char *v, char *err, size_t errlen)
{
	enum atc_log_level	l;

	if (atc_log_level_parse(v, &l) == -1)
		return atc_seterr(err, errlen, "expected err|warn|info|debug");
	return 0;
}

static int
check_listen(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "off") == 0)
		return 0;
	return atc_config_check_hostport(v, err, errlen);
}

static const struct atc_config_item items[] = {
	{ "RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5673/",
	    ATC_CONFIG_STR, offsetof(struct settings, rabbitmq_url), 0, 0,
	    false, true, atc_config_check_url, "RabbitMQ URL (amqp://)" },
	{ "API_URL", "http://127.0.0.1:8080", ATC_CONFIG_STR,
	    offsetof(struct settings, api_url), 0, 0, false, false,
	    atc_config_check_url, "integration API base URL" },
	{ "API_KEY", NULL, ATC_CONFIG_STR, offsetof(struct settings, api_key),
	    0, 0, true, true, NULL, "service key sent as Bearer token" },
	{ "TENANT_ID", "default", ATC_CONFIG_STR,
	    offsetof(struct settings, tenant_id), 0, 0, false, false, NULL,
	    "x-tenant-id sent with every call" },
	{ "PROCESSOR_PREFETCH", "400", ATC_CONFIG_INT,
	    offsetof(struct settings, prefetch), 1, 65535, false, false, NULL,
	    "messages delivered and unacked at once" },
	{ "PROCESSOR_CONCURRENCY", "4", ATC_CONFIG_INT,
	    offsetof(struct settings, concurrency), 1, 1024, false, false,
	    NULL, "API calls (batches) in flight at once" },
	{ "API_TIMEOUT_MS", "10s", ATC_CONFIG_MS,
	    offsetof(struct settings, api_timeout_ms), 100, 300000, false,
	    false, NULL, "timeout of one API call" },
	{ "PROCESSOR_BATCH_SIZE", "200", ATC_CONFIG_INT,
	    offsetof(struct settings, batch_size), 1, 500, false, false, NULL,
	    "messages per /api/integration/batch call (1 = one call each)" },
	{ "PROCESSOR_BATCH_LINGER_MS", "5ms", ATC_CONFIG_MS,
	    offsetof(struct settings, batch_linger_ms), 0, 10000, false, false,
	    NULL, "how long a message waits for a fuller batch" },
	{ "LOG_LEVEL", "info", ATC_CONFIG_STR,
	    offsetof(struct settings, log_level), 0, 0, false, false,
	    check_level, "err|warn|info|debug" },
	{ "METRICS_LISTEN", "127.0.0.1:9465", ATC_CONFIG_STR,
	    offsetof(struct settings, metrics_listen), 0, 0, false, false,
	    check_listen, "/metrics and /health/* address, or off" },
	{ "METRICS_TOKEN", NULL, ATC_CONFIG_STR,
	    offsetof(struct settings, metrics_token), 0, 0, false, true, NULL,
	    "bearer token required by /metrics (optional)" },
	{ "API_CA_FILE", NULL, ATC_CONFIG_STR,
	    offsetof(struct settings, api_ca_file), 0, 0, false, false, NULL,
	    "PEM CA bundle trusted for an https API_URL (unset: system)" },
	{ "PLC_URL", "https://plc.directory", ATC_CONFIG_STR,
	    offsetof(struct settings, plc_url), 0, 0, false, false,
	    atc_config_check_url, "PLC directory resolving identity events' "
	    "DIDs" },
	{ "PROCESSOR_FETCH_EVENT_AFTER", "1", ATC_CONFIG_INT,
	    offsetof(struct settings, fetch_event_after), 0, 5, false, false,
	    NULL, "an RSVP still answered 424 (event unknown) after this many "
	    "failed deliveries has its event fetched from the author's PDS "
	    "(getRecord); 0 = never" },
};

/* What `processor dlq` needs: the broker, not the API. */
static const struct atc_config_item mq_items[] = {
	{ "RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5673/",
	    ATC_CONFIG_STR, offsetof(struct settings, rabbitmq_url), 0, 0,
	    false, true, atc_config_check_url, "RabbitMQ URL (amqp://)" },
	{ "LOG_LEVEL", "info", ATC_CONFIG_STR,
	    offsetof(struct settings, log_level), 0, 0, false, false,
	    check_level, "err|warn|info|debug" },
};

int
settings_load_mq(struct settings *s, struct atc_buf *errs)
{
	return atc_config_load(s, mq_items, ATC_NELEM(mq_items), errs);
}

int
settings_load(struct settings *s, struct atc_buf *errs)
{
	int	n;

	n = atc_config_load(s, items, ATC_NELEM(items), errs);
	if (s->prefetch > 0 && s->concurrency > 0 &&
	    s->prefetch < s->concurrency) {
		atc_buf_appendf(errs, "PROCESSOR_PREFETCH: %lld is below "
		    "PROCESSOR_CONCURRENCY (%lld)\n", s->prefetch,
		    s->concurrency);
		n++;
	}
	return n;
}

void
settings_cleanup(struct settings *s)
{
	free(s->rabbitmq_url);
	free(s->api_url);
	free(s->api_key);
	free(s->tenant_id);
	free(s->log_level);
	free(s->metrics_listen);
	free(s->metrics_token);
	free(s->api_ca_file);
	free(s->plc_url);
	memset(s, 0, sizeof(*s));
}

void
settings_log(const struct settings *s)
{
	atc_config_log(s, items, ATC_NELEM(items));
}

void
settings_usage(void)
{
	atc_config_usage(items, ATC_NELEM(items));
}
