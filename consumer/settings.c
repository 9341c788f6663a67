/* SPDX-License-Identifier: ISC */
/*
 * The consumer's settings table. Defaults aim at the public relay and the
 * local servers of `make services-up`.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "labels.h"
#include "live.h"
#include "log.h"
#include "settings.h"

#define CALENDAR_COLLECTIONS \
	"community.lexicon.calendar.event,community.lexicon.calendar.rsvp," \
	"events.smokesignal.calendar.event,events.smokesignal.calendar.rsvp"

#define F(x)	offsetof(struct consumer_config, x)

static int
check_ws_url(const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "ws://", 5) != 0 && strncmp(v, "wss://", 6) != 0) {
		(void)snprintf(err, errlen, "must start with ws:// or wss://");
		return -1;
	}
	return atc_config_check_url(v, err, errlen);
}

static int
check_cursor(const char *v, char *err, size_t errlen)
{
	const char	*p;

	for (p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			(void)snprintf(err, errlen,
			    "must be empty (live) or a non-negative integer");
			return -1;
		}
	}
	if (p - v > 18) {
		(void)snprintf(err, errlen, "too large");
		return -1;
	}
	return 0;
}

static int
check_listen(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "off") == 0)
		return 0;
	return atc_config_check_hostport(v, err, errlen);
}

static int
check_hosts(const char *v, char *err, size_t errlen)
{
	char	**list, url[2048];
	size_t	  i, n;
	int	  rc = 0;

	list = atc_config_list(v, &n);
	for (i = 0; i < n && rc == 0; i++) {
		if (live_source_url(list[i], url, sizeof(url)) == -1) {
			(void)snprintf(err, errlen, "bad entry %.100s", list[i]);
			rc = -1;
		}
	}
	if (rc == 0 && n == 0) {
		(void)snprintf(err, errlen, "no host listed");
		rc = -1;
	}
	atc_config_list_free(list);
	return rc;
}

static int
check_mode(const char *v, char *err, size_t errlen)
{
	static const char *modes[] = { "all", "firehose", "jetstream",
	    "backfill", "labeler" };
	size_t		 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(v, modes[i]) == 0)
			return 0;
	(void)snprintf(err, errlen,
	    "must be all, firehose, jetstream, backfill or labeler");
	return -1;
}

static int
check_level(const char *v, char *err, size_t errlen)
{
	enum atc_log_level	l;

	if (atc_log_level_parse(v, &l) == -1) {
		(void)snprintf(err, errlen, "must be err, warn, info or debug");
		return -1;
	}
	return 0;
}

/* BACKFILL_* and LABELER_HOSTS (backfill*.c, labels*.c, engineer L). */
static int
check_backfill_urls(const char *v, char *err, size_t errlen)
{
	char	**list;
	size_t	  i, n;
	int	  rc = 0;

	list = atc_config_list(v, &n);
	for (i = 0; i < n && rc == 0; i++)
		if ((strncmp(list[i], "http://", 7) != 0 &&
		    strncmp(list[i], "https://", 8) != 0) ||
		    atc_config_check_url(list[i], err, errlen) == -1) {
			(void)snprintf(err, errlen, "bad entry %.100s "
			    "(http:// or https:// URL)", list[i]);
			rc = -1;
		}
	atc_config_list_free(list);
	return rc;
}

static int
check_backfill_kind(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "relay") == 0 ||
	    strcmp(v, "pds") == 0)
		return 0;
	(void)snprintf(err, errlen, "must be auto, relay or pds");
	return -1;
}

static int
check_labeler_hosts(const char *v, char *err, size_t errlen)
{
	char	**list, url[2048];
	size_t	  i, n;
	int	  rc = 0;

	list = atc_config_list(v, &n);
	for (i = 0; i < n && rc == 0; i++)
		if (labels_source_url(list[i], url, sizeof(url)) == -1) {
			(void)snprintf(err, errlen, "bad entry %.100s",
			    list[i]);
			rc = -1;
		}
	atc_config_list_free(list);
	return rc;
}

/* VERIFY_SIGNATURES and PLC_URL (verify.c, engineer K). */
static int
check_verify(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "calendar") != 0 && strcmp(v, "off") != 0) {
		(void)snprintf(err, errlen, "must be calendar or off");
		return -1;
	}
	return 0;
}

static int
check_plc_url(const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		(void)snprintf(err, errlen, "must start with https:// or "
		    "http://");
		return -1;
	}
	return atc_config_check_url(v, err, errlen);
}

static int
check_readable(const char *v, char *err, size_t errlen)
{
	if (access(v, R_OK) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", v,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static const struct atc_config_item items[] = {
	{ "SOURCE_URL", "wss://bsky.network/xrpc/com.atproto.sync.subscribeRepos",
	    ATC_CONFIG_STR, F(source_url), 0, 0, true, false, check_ws_url,
	    "firehose (subscribeRepos) or Jetstream (/subscribe) URL" },
	{ "RELAY_HOSTS", NULL, ATC_CONFIG_STR, F(relay_hosts), 0, 0, false,
	    false, check_hosts,
	    "several sources at once (URLs or hosts), one cursor each; "
	    "overrides SOURCE_URL" },
	{ "INGESTER_MODE", "firehose", ATC_CONFIG_STR, F(mode), 0, 0, false,
	    false, check_mode, "firehose|jetstream: live sources; backfill: "
	    "history then exit; labeler: labels; all: live + labels + backfill" },
	{ "SOURCE_CURSOR", "", ATC_CONFIG_STR, F(source_cursor), 0, 0, false,
	    false, check_cursor,
	    "start seq when no cursor is stored: empty = live, 0 = replay window" },
	{ "RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5673/", ATC_CONFIG_STR,
	    F(rabbitmq_url), 0, 0, true, true, atc_config_check_url,
	    "RabbitMQ URL (amqp:// or amqps://)" },
	{ "SOURCE_CA_FILE", NULL, ATC_CONFIG_STR, F(source_ca_file), 0, 0,
	    false, false, check_readable,
	    "PEM CA bundle trusted for wss:// sources (unset: system)" },
	{ "DATABASE_URL", "postgresql://atcal@127.0.0.1:5433/atcal",
	    ATC_CONFIG_STR, F(database_url), 0, 0, true, true, NULL,
	    "Postgres connection (cursor store)" },
	{ "LOG_LEVEL", "info", ATC_CONFIG_STR, F(log_level), 0, 0, false,
	    false, check_level, "err, warn, info or debug" },
	{ "SOURCE_COLLECTIONS", CALENDAR_COLLECTIONS, ATC_CONFIG_STR,
	    F(collections), 0, 0, true, false, NULL,
	    "collections (NSIDs) forwarded" },
	{ "FORWARD_IDENTITY", "true", ATC_CONFIG_BOOL, F(forward_identity), 0,
	    0, false, false, NULL,
	    "also forward identity/account events and profile records" },
	{ "JETSTREAM_ZSTD_DICTIONARY", NULL, ATC_CONFIG_STR, F(jetstream_dict),
	    0, 0, false, false, NULL,
	    "Jetstream zstd dictionary file: enables compress=true" },
	{ "SOURCE_MAX_FRAME_BYTES", "5242880", ATC_CONFIG_INT,
	    F(max_frame_len), 65536, 64 * 1024 * 1024, false, false, NULL,
	    "largest WebSocket message accepted" },
	{ "INGESTER_MAX_UNCONFIRMED", "5000", ATC_CONFIG_INT, F(high_water),
	    10, 60000, false, false, NULL,
	    "unconfirmed messages before reading pauses" },
	{ "INGESTER_RESUME_UNCONFIRMED", "1000", ATC_CONFIG_INT,
	    F(low_water), 0, 60000, false, false, NULL,
	    "unconfirmed messages under which reading resumes" },
	{ "INGESTER_HIGH_WATER_MARK", "100000", ATC_CONFIG_INT, F(depth_high),
	    1, 100000000, false, false, NULL,
	    "queue depth at which reading pauses" },
	{ "INGESTER_LOW_WATER_MARK", "80000", ATC_CONFIG_INT, F(depth_low),
	    0, 100000000, false, false, NULL,
	    "queue depth under which reading resumes" },
	{ "SOURCE_IDLE_TIMEOUT", "60s", ATC_CONFIG_MS, F(idle_timeout_ms),
	    5000, 3600000, false, false, NULL,
	    "a connection silent this long is dead (pinged at half)" },
	{ "INGESTER_BATCH_SIZE", "500", ATC_CONFIG_INT, F(batch_size), 1,
	    60000, false, false, NULL, "messages per publish batch (confirms "
	    "collected and cursor stored per batch)" },
	{ "INGESTER_BATCH_TIMEOUT_MS", "1000", ATC_CONFIG_MS,
	    F(batch_timeout_ms), 10, 60000, false, false, NULL,
	    "longest a batch stays open; the cursor is stored at least this "
	    "often" },
	{ "RECONNECT_MAX_DELAY", "60s", ATC_CONFIG_MS, F(reconnect_max_ms),
	    1000, 3600000, false, false, NULL, "reconnect backoff ceiling" },
	{ "SHUTDOWN_TIMEOUT", "10s", ATC_CONFIG_MS, F(shutdown_timeout_ms),
	    100, 600000, false, false, NULL,
	    "wait for broker confirms on SIGTERM" },
	{ "METRICS_LISTEN", "127.0.0.1:9464", ATC_CONFIG_STR, F(metrics_listen),
	    0, 0, false, false, check_listen,
	    "/metrics and /health/* address, or off" },
	{ "METRICS_TOKEN", NULL, ATC_CONFIG_STR, F(metrics_token), 0, 0, false,
	    true, NULL, "bearer token required by /metrics (optional)" },
	{ "VERIFY_BLOCKS", "true", ATC_CONFIG_BOOL, F(verify_blocks), 0, 0,
	    false, false, NULL, "check each record block's SHA-256" },
	/* Commit signatures (verify.c, engineer K). */
	{ "VERIFY_SIGNATURES", "calendar", ATC_CONFIG_STR,
	    F(verify_signatures), 0, 0, false, false, check_verify,
	    "calendar: check commit signatures of calendar commits; off" },
	{ "PLC_URL", "https://plc.directory", ATC_CONFIG_STR, F(plc_url), 0, 0,
	    false, false, check_plc_url,
	    "PLC directory resolving did:plc keys (VERIFY_SIGNATURES)" },
	/* Backfill and labels (backfill*.c, labels*.c, engineer L). */
	{ "BACKFILL_SOURCE_URL", NULL, ATC_CONFIG_STR, F(backfill_source_url),
	    0, 0, false, false, check_backfill_urls,
	    "relays/PDSs to backfill from (http(s) URLs, comma-separated); "
	    "default: SOURCE_URL's host" },
	{ "BACKFILL_SOURCE_KIND", "auto", ATC_CONFIG_STR, F(backfill_kind), 0,
	    0, false, false, check_backfill_kind,
	    "relay (listReposByCollection), pds (listRepos) or auto" },
	{ "BACKFILL_CONCURRENCY", "4", ATC_CONFIG_INT,
	    F(backfill_concurrency), 1, 64, false, false, NULL,
	    "repositories fetched at once" },
	{ "BACKFILL_RATE", "10", ATC_CONFIG_INT, F(backfill_rate), 0, 100000,
	    false, false, NULL, "requests per second per host (0 = no limit)" },
	{ "BACKFILL_MAX_REPO_BYTES", "268435456", ATC_CONFIG_INT,
	    F(backfill_max_repo_len), 65536, 4LL * 1024 * 1024 * 1024, false,
	    false, NULL, "largest repository CAR fetched" },
	{ "LABELER_HOSTS", NULL, ATC_CONFIG_STR, F(labeler_hosts), 0, 0, false,
	    false, check_labeler_hosts,
	    "subscribeLabels sources (ws(s) URLs or hosts), comma-separated" },
};

int
settings_load(struct consumer_config *out)
{
	struct atc_buf	errs;
	int		n;

	memset(out, 0, sizeof(*out));
	atc_buf_init(&errs, 256);
	n = atc_config_load(out, items, sizeof(items) / sizeof(items[0]),
	    &errs);
	if (n == 0 && out->low_water >= out->high_water) {
		atc_buf_puts(&errs, "INGESTER_RESUME_UNCONFIRMED: must be "
		    "below INGESTER_MAX_UNCONFIRMED\n");
		n++;
	}
	if (n == 0 && out->batch_size > out->high_water) {
		atc_buf_puts(&errs, "INGESTER_BATCH_SIZE: must not exceed "
		    "INGESTER_MAX_UNCONFIRMED (reading pauses before a batch "
		    "could fill)\n");
		n++;
	}
	if (n == 0 && out->depth_low >= out->depth_high) {
		atc_buf_puts(&errs, "INGESTER_LOW_WATER_MARK: must be below "
		    "INGESTER_HIGH_WATER_MARK\n");
		n++;
	}
	if (n > 0)
		fprintf(stderr, "consumer: invalid configuration (%d "
		    "problem%s):\n%s", n, n > 1 ? "s" : "",
		    atc_buf_cstr(&errs));
	atc_buf_cleanup(&errs);
	return n > 0 ? -1 : 0;
}

void
settings_free(struct consumer_config *cfg)
{
	atc_config_free(cfg, items, sizeof(items) / sizeof(items[0]));
}

void
settings_log(const struct consumer_config *cfg)
{
	atc_config_log(cfg, items, sizeof(items) / sizeof(items[0]));
}

void
settings_usage(void)
{
	atc_config_usage(items, sizeof(items) / sizeof(items[0]));
}
