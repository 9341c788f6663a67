/* SPDX-License-Identifier: ISC */
/*
 * Kore glue for the api binary (Kore's sources compiled in, single-binary
 * mode). The parent reads the environment once, optionally applies the
 * migrations and exits (`api migrate`), then renders the Kore
 * configuration (bind, workers, routes) into the buffer Kore parses, so
 * nothing but the environment configures the service. Each worker owns one
 * lazily (re)connected database handle and migrates on first use.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/hooks.h>
#include <kore/seccomp.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "faults.h"
#include "input.h"
#include "lifecycle.h"
#include "log.h"
#include "migrate.h"
#include "ratelimit.h"
#include "store.h"
#include "store_read.h"
#include "telemetry.h"
#include "tls.h"
#include "util.h"

#define CONF_MAX	8192
/* Kore's header buffer: header blocks up to it reach guard.c, which
 * answers 431 above API_HEADERS_MAX; Kore drops larger ones unanswered. */
#define API_KORE_HEADER_BUF	32768

/*
 * Kore (KORE_SINGLE_BINARY) parses its configuration from these two
 * symbols; they are filled in kore_parent_configure(), which Kore calls
 * before it parses. Their names are Kore's, hence no prefix.
 */
u_int8_t	asset_builtin_kore_conf[CONF_MAX];
u_int32_t	asset_len_builtin_kore_conf;

/* Workers migrate when the database was down at startup: reading the
 * schema directory needs these beyond Kore's and its pgsql filters (libpq
 * itself needs nothing more once gssencmode=disable). */
static struct sock_filter	api_seccomp[] = {
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(getdents64),
	/* The dead-letter routes resolve RABBITMQ_URL's host (glibc's
	 * resolver: uname, one datagram exchange per query). */
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(recvmsg),
};

static struct api_config	 cfg;
static struct api_keys		*keys;
static struct ratelimit		*limiter;
static struct api_json_limits	 json_limits;
static struct atc_db		*worker_db;
static int			 worker_migrated;

static const struct atc_config_item config_items[] = {
	{ "API_LISTEN", "127.0.0.1:8080", ATC_CONFIG_STR,
	    offsetof(struct api_config, listen), 0, 0, true, false,
	    atc_config_check_hostport, "HTTP listen address host:port" },
	{ "API_WORKERS", "2", ATC_CONFIG_INT,
	    offsetof(struct api_config, workers), 1, 64, false, false, NULL,
	    "Kore worker processes" },
	{ "DATABASE_URL", "postgresql://atcal@127.0.0.1:5433/atcal",
	    ATC_CONFIG_STR, offsetof(struct api_config, database_url), 0, 0,
	    true, true, NULL, "Postgres URL or conninfo" },
	{ "SERVICE_API_KEYS", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, service_api_keys), 0, 0, false, true,
	    NULL, "comma-separated keys, each `key` or `key=t1|t2`" },
	{ "SERVICE_API_KEYS_FILE", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, service_api_keys_file), 0, 0, false,
	    false, NULL, "file of keys: one `key[=t1|t2]` a line, # comments" },
	{ "API_KEY_RATE_LIMIT", "1000:20000", ATC_CONFIG_STR,
	    offsetof(struct api_config, key_rate), 0, 0, false, false, NULL,
	    "default per-key limit rps:burst, or off" },
	{ "SERVICE_API_KEY_RATE", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, key_rates), 0, 0, false, false, NULL,
	    "per-key limits fingerprint:rps:burst|fingerprint:off, ..." },
	{ "API_AUTH_FAIL_LIMIT", "1:20", ATC_CONFIG_STR,
	    offsetof(struct api_config, auth_fail_rate), 0, 0, false, false,
	    NULL, "failed authentications per client address rps:burst|off" },
	{ "API_JSON_DEPTH_MAX", "32", ATC_CONFIG_INT,
	    offsetof(struct api_config, json_depth_max), 1,
	    API_JSON_DEPTH_CAP, false, false, NULL,
	    "deepest nesting of a JSON body" },
	{ "API_JSON_STRING_MAX", "65536", ATC_CONFIG_INT,
	    offsetof(struct api_config, json_string_max), 64,
	    16 * 1024 * 1024, false, false, NULL,
	    "longest JSON string in a body, bytes as sent" },
	{ "API_JSON_ITEMS_MAX", "1000", ATC_CONFIG_INT,
	    offsetof(struct api_config, json_items_max), 10, 1000000, false,
	    false, NULL, "most elements of one JSON array or object" },
	{ "METRICS_TOKEN", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, metrics_token), 0, 0, false, true,
	    NULL, "bearer token GET /metrics requires (unset: open)" },
	{ "ATCAL_TEST_FAULTS", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, test_faults), 0, 0, false, false,
	    NULL, "TEST ONLY: error500=PCT,stall=MS on integration writes" },
	{ "ATCAL_TEST_FAULTS_FILE", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, test_faults_file), 0, 0, false, false,
	    NULL, "TEST ONLY: file holding the fault spec, read each second" },
	{ "API_HIDE_LABELS", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, hide_labels), 0, 0, false, false,
	    NULL, "label values hiding a subject besides !hide,!takedown" },
	{ "RABBITMQ_URL", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, rabbitmq_url), 0, 0, false, true,
	    atc_config_check_url, "RabbitMQ URL for the DLQ routes (unset: "
	    "they answer 503)" },
	{ "LOG_LEVEL", "info", ATC_CONFIG_STR,
	    offsetof(struct api_config, log_level), 0, 0, false, false, NULL,
	    "err|warn|info|debug" },
	{ "SCHEMA_DIR", "schema", ATC_CONFIG_STR,
	    offsetof(struct api_config, schema_dir), 0, 0, false, false, NULL,
	    "directory of NNNN_verb_noun.sql migrations" },
	{ "API_BODY_MAX", "1048576", ATC_CONFIG_INT,
	    offsetof(struct api_config, body_max), 1024, 16 * 1024 * 1024,
	    false, false, NULL, "largest accepted request body, bytes" },
	{ "API_TLS_CERT", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, tls_cert), 0, 0, false, false, NULL,
	    "PEM certificate chain; with API_TLS_KEY serves HTTPS" },
	{ "API_TLS_KEY", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, tls_key), 0, 0, false, false, NULL,
	    "PEM private key of API_TLS_CERT" },
	{ "API_TLS_DHPARAM", NULL, ATC_CONFIG_STR,
	    offsetof(struct api_config, tls_dhparam), 0, 0, false, false,
	    NULL, "PEM DH parameters (unset: RFC 7919 ffdhe2048)" },
};

const struct api_config *
api_config(void)
{
	return &cfg;
}

const struct api_keys *
api_keys(void)
{
	return keys;
}

struct ratelimit *
api_ratelimit(void)
{
	return limiter;
}

const struct api_json_limits *
api_json_limits(void)
{
	return &json_limits;
}

/* Names the loaded keys by fingerprint (for SERVICE_API_KEY_RATE). */
static void
log_keys(void)
{
	struct atc_buf	b;
	size_t		i;

	atc_buf_init(&b, 128);
	for (i = 0; i < api_keys_count(keys); i++)
		atc_buf_appendf(&b, "%s%s", i ? "," : "",
		    api_keys_fingerprint(keys, i));
	atc_log_info("keys_loaded", "count=%zu fingerprints=%s",
	    api_keys_count(keys), atc_buf_cstr(&b));
	atc_buf_cleanup(&b);
}

/* Keys (env and file), rate limits, JSON limits and the fault switch:
 * every problem is appended to errs; returns the number of problems. The
 * limiter's shared memory is mapped here, before Kore forks. */
static int
load_security(struct atc_buf *errs)
{
	struct ratelimit_rate	 key_rate, fail_rate;
	struct faults_spec	 fspec;
	char			*file_text = NULL, err[ATC_ERRLEN];
	int			 problems = 0;

	if (cfg.service_api_keys_file != NULL &&
	    api_keys_read_file(cfg.service_api_keys_file, &file_text, err,
	    sizeof(err)) == -1) {
		atc_buf_appendf(errs, "SERVICE_API_KEYS_FILE: %s\n", err);
		return 1;
	}
	if (api_keys_load(cfg.service_api_keys, file_text, &keys, err,
	    sizeof(err)) == -1) {
		atc_buf_appendf(errs, "SERVICE_API_KEYS: %s\n", err);
		problems++;
	}
	api_keys_text_free(file_text);
	if (ratelimit_rate_parse(cfg.key_rate, &key_rate, err,
	    sizeof(err)) == -1) {
		atc_buf_appendf(errs, "API_KEY_RATE_LIMIT: %s\n", err);
		problems++;
	}
	if (ratelimit_rate_parse(cfg.auth_fail_rate, &fail_rate, err,
	    sizeof(err)) == -1) {
		atc_buf_appendf(errs, "API_AUTH_FAIL_LIMIT: %s\n", err);
		problems++;
	}
	if (cfg.test_faults != NULL && faults_parse(cfg.test_faults, &fspec,
	    err, sizeof(err)) == -1) {
		atc_buf_appendf(errs, "ATCAL_TEST_FAULTS: %s\n", err);
		problems++;
	}
	if (problems > 0)
		return problems;
	if ((limiter = ratelimit_new(api_keys_count(keys), &key_rate, 4096,
	    &fail_rate)) == NULL)
		atc_fatal("ratelimit_failed", "cause=\"cannot map shared "
		    "memory\"");
	if (ratelimit_configure_keys(limiter, keys, cfg.key_rates, err,
	    sizeof(err)) == -1) {
		atc_buf_appendf(errs, "SERVICE_API_KEY_RATE: %s\n", err);
		problems++;
	}
	json_limits.depth_max = (size_t)cfg.json_depth_max;
	json_limits.string_max = (size_t)cfg.json_string_max;
	json_limits.items_max = (size_t)cfg.json_items_max;
	return problems;
}

static void
usage(const char *prog, int status)
{
	printf("usage: %s [migrate | --check-config | --help]\n"
	    "  (no argument)   serve HTTP in the foreground\n"
	    "  migrate         apply schema migrations and exit\n"
	    "  --check-config  validate the environment and exit\n", prog);
	atc_config_usage(config_items, ATC_NELEM(config_items));
	exit(status);
}

static void
load_config(void)
{
	struct atc_buf		errs;
	enum atc_log_level	level;
	int			problems;

	atc_buf_init(&errs, 256);
	problems = atc_config_load(&cfg, config_items, ATC_NELEM(config_items),
	    &errs);
	if (cfg.log_level != NULL &&
	    atc_log_level_parse(cfg.log_level, &level) == -1) {
		atc_buf_appendf(&errs, "LOG_LEVEL: expected err|warn|info|"
		    "debug\n");
		problems++;
	}
	if (problems == 0)
		problems += api_tls_load(&cfg, &errs);
	if (problems == 0)
		problems += load_security(&errs);
	if (problems > 0) {
		fprintf(stderr, "%s", atc_buf_cstr(&errs));
		atc_buf_cleanup(&errs);
		exit(1);
	}
	atc_buf_cleanup(&errs);
	atc_log_init("api", level);
}

/* Applies the migrations. Returns 0, -1 when the database is down, -2 when
 * a migration failed (a broken file: fatal at startup). */
static int
migrate_now(void)
{
	struct atc_db	*db;
	char		 err[ATC_ERRLEN], q[ATC_ERRLEN + 8];
	int		 ret;

	if ((db = atc_db_connect(cfg.database_url, err, sizeof(err))) ==
	    NULL) {
		atc_log_warn("migrate_skipped", "cause=database_unavailable "
		    "detail=%s", atc_log_quote(q, sizeof(q), err));
		return -1;
	}
	if (atc_migrate(db, cfg.schema_dir, err, sizeof(err)) == -1) {
		ret = atc_db_down(db) ? -1 : -2;
		atc_log_err("migrate_failed", "dir=%s detail=%s",
		    cfg.schema_dir, atc_log_quote(q, sizeof(q), err));
	} else {
		ret = 0;
		atc_log_info("migrated", "dir=%s", cfg.schema_dir);
	}
	atc_db_free(db);
	return ret;
}

static void
render_kore_conf(void)
{
	char	host[256], tls_dom[2048], tls_glob[1100];
	int	port, n;

	if (atc_config_split_hostport(cfg.listen, host, sizeof(host),
	    &port) == -1)
		atc_fatal("config_invalid", "cause=\"bad API_LISTEN\"");
	if (api_tls_render(&cfg, tls_dom, sizeof(tls_dom), tls_glob,
	    sizeof(tls_glob)) == -1)
		atc_fatal("config_invalid", "cause=\"TLS paths too long\"");
	/* Kore's own limit sits above ours so oversized bodies up to twice
	 * the limit still get our JSON 413; beyond that Kore answers. */
	n = snprintf((char *)asset_builtin_kore_conf,
	    sizeof(asset_builtin_kore_conf),
	    "server atcal {\n\tbind %s %d\n\ttls %s\n}\n"
	    "%s"
	    "workers %lld\n"
	    "worker_max_connections 1024\n"
	    /* Handlers block on Postgres, so a worker takes one connection
	     * per accept and passes the lock on: connections (and the
	     * processor's concurrent batches) spread over all workers. */
	    "worker_accept_threshold 1\n"
	    /* Idle keep-alive connections close before the header timeout,
	     * so a client never reads an unprompted 408 as its answer. */
	    "http_keepalive_time 8\n"
	    "http_header_timeout 10\n"
	    "http_body_max %lld\n"
	    "http_header_max %d\n"
	    "http_hsts_enable 0\n"
	    "http_server_version atcal\n"
	    "pidfile /tmp/atcal-api.%d.pid\n"
	    "domain * {\n"
	    "\tattach atcal\n"
	    "%s"
	    "\troute /health/liveness api_health_liveness\n"
	    "\troute /health/readiness api_health_readiness\n"
	    "\troute /metrics api_metrics\n"
	    "\troute /api/integration/events api_events\n"
	    "\troute ^/api/integration/events/atproto/[^/]+/[^/]+/[^/]+$ "
	    "api_events_atproto\n"
	    "\troute /api/integration/rsvps api_rsvps\n"
	    "\troute /api/events/by-source api_events_by_source\n"
	    "\troute /api/integration/batch api_batch\n"
	    "\troute /api/integration/identity api_identity\n"
	    "\troute /api/integration/account api_account\n"
	    "\troute /api/integration/profile api_profile\n"
	    "\troute /api/integration/labels api_labels\n"
	    "\troute /api/integration/dlq api_dlq\n"
	    "\troute /api/integration/dlq/replay api_dlq_replay\n"
	    "\troute ^/api/integration/dlq/[^/]+$ api_dlq_one\n"
	    "\troute /api/integration/shadow-accounts/claim "
	    "api_shadow_claim\n"
	    "\troute /api/shadow-accounts api_shadow_accounts\n"
	    "\troute /api/openapi.json api_openapi\n"
	    "\troute /api/events api_events_list\n"
	    "\troute ^/api/events/[^/]+/attendees$ api_event_attendees\n"
	    "\troute ^/api/events/[^/]+$ api_event_by_slug\n"
	    "\troute ^/api/users/[^/]+$ api_user_by_did\n"
	    "\troute ^/.*$ api_not_found\n"
	    "}\n",
	    host, port, api_tls_enabled(&cfg) ? "yes" : "no", tls_glob,
	    cfg.workers, cfg.body_max * 2, API_KORE_HEADER_BUF,
	    (int)getpid(), tls_dom);
	if (n < 0 || (size_t)n >= sizeof(asset_builtin_kore_conf))
		atc_fatal("config_invalid", "cause=\"kore config too long\"");
	asset_len_builtin_kore_conf = (u_int32_t)n;
}

void
kore_parent_configure(int argc, char *argv[])
{
	const char	*mode = argc > 1 ? argv[1] : NULL;
	char		 err[ATC_ERRLEN], q[ATC_ERRLEN + 8], *hide;

	/* Kore prints its own lines to stdout: line-buffer them so forked
	 * workers never inherit (and repeat) unflushed output. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 || (mode != NULL && strcmp(mode, "migrate") != 0 &&
	    strcmp(mode, "--check-config") != 0))
		usage(argv[0], mode != NULL && (strcmp(mode, "-h") == 0 ||
		    strcmp(mode, "--help") == 0) ? 0 : 2);
	load_config();
	if (mode != NULL && strcmp(mode, "--check-config") == 0) {
		printf("configuration OK\n");
		exit(0);
	}
	atc_config_log(&cfg, config_items, ATC_NELEM(config_items));
	if (mode != NULL)
		exit(migrate_now() == 0 ? 0 : 1);
	if (migrate_now() == -2)
		exit(1);
	if (telemetry_init(8192, err, sizeof(err)) == -1 ||
	    faults_init(cfg.test_faults, cfg.test_faults_file, err,
	    sizeof(err)) == -1)
		atc_fatal("config_invalid", "detail=%s",
		    atc_log_quote(q, sizeof(q), err));
	api_store_dedup_hook(telemetry_dedup);
	if ((hide = lifecycle_hide_values(cfg.hide_labels, err,
	    sizeof(err))) == NULL)
		atc_fatal("config_invalid", "setting=API_HIDE_LABELS detail=%s",
		    atc_log_quote(q, sizeof(q), err));
	api_store_read_hide(hide);
	free(hide);
	log_keys();
	render_kore_conf();
	atc_log_info("listen", "addr=%s tls=%s", cfg.listen,
	    api_tls_enabled(&cfg) ? "yes" : "no");
	kore_foreground = 1;
	skip_chroot = 1;
	skip_runas = 1;
}

void
kore_seccomp_hook(void)
{
	kore_seccomp_filter("atcal-api", api_seccomp,
	    KORE_FILTER_LEN(api_seccomp));
}

void
kore_parent_teardown(void)
{
	atc_log_info("stopped", NULL);
}

void
kore_worker_configure(void)
{
	worker_db = atc_db_new(cfg.database_url);
	worker_migrated = 0;
	api_tls_worker_init();
}

void
kore_worker_teardown(void)
{
	atc_db_free(worker_db);
	worker_db = NULL;
}

struct atc_db *
api_db(void)
{
	char	err[ATC_ERRLEN], q[ATC_ERRLEN + 8];

	/* A database call blocks this worker: hand the accept lock to an
	 * idle worker first, so new connections are not queued behind it. */
	kore_worker_make_busy();
	/* Statements reconnect by themselves; only the schema needs a
	 * first successful contact. */
	if (!worker_migrated) {
		if (atc_migrate(worker_db, cfg.schema_dir, err,
		    sizeof(err)) == -1) {
			atc_log_warn("migrate_failed", "dir=%s detail=%s",
			    cfg.schema_dir, atc_log_quote(q, sizeof(q), err));
			return NULL;
		}
		worker_migrated = 1;
	}
	return worker_db;
}
