/* SPDX-License-Identifier: ISC */
#ifndef API_API_H
#define API_API_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Process-wide state of the api service, set up in the Kore hooks of
 * api.c: the read-only configuration (parent, before fork) and each
 * worker's own database handle (after fork).
 */
struct atc_db;
struct api_keys;
struct api_json_limits;
struct ratelimit;

struct api_config {
	char		*listen;	/* API_LISTEN host:port */
	long long	 workers;	/* API_WORKERS */
	char		*database_url;	/* DATABASE_URL */
	char		*service_api_keys; /* SERVICE_API_KEYS (secret) */
	char		*log_level;	/* LOG_LEVEL */
	char		*schema_dir;	/* SCHEMA_DIR */
	long long	 body_max;	/* API_BODY_MAX, bytes */
	char		*service_api_keys_file;	/* SERVICE_API_KEYS_FILE */
	char		*key_rate;	/* API_KEY_RATE_LIMIT rps:burst|off */
	char		*key_rates;	/* SERVICE_API_KEY_RATE fp:rps:burst */
	char		*auth_fail_rate; /* API_AUTH_FAIL_LIMIT rps:burst|off */
	long long	 json_depth_max;	/* API_JSON_DEPTH_MAX */
	long long	 json_string_max;	/* API_JSON_STRING_MAX, bytes */
	long long	 json_items_max;	/* API_JSON_ITEMS_MAX */
	char		*metrics_token;	/* METRICS_TOKEN (secret) or NULL */
	char		*test_faults;	/* ATCAL_TEST_FAULTS (test only) */
	char		*test_faults_file; /* ATCAL_TEST_FAULTS_FILE (tests) */
	char		*tls_cert;	/* API_TLS_CERT PEM chain path or NULL */
	char		*tls_key;	/* API_TLS_KEY PEM key path or NULL */
	char		*tls_dhparam;	/* API_TLS_DHPARAM PEM path or NULL */
	char		*hide_labels;	/* API_HIDE_LABELS comma list or NULL */
	char		*rabbitmq_url;	/* RABBITMQ_URL (secret) or NULL: no DLQ */
};

/* Returns the configuration (borrowed, lives for the process). */
const struct api_config	*api_config(void);
/* Returns the parsed service keys (borrowed, lives for the process). */
const struct api_keys	*api_keys(void);
/* Returns this worker's database handle (borrowed) once the schema has been
 * migrated, or NULL while the database cannot be reached (answer 503). */
struct atc_db		*api_db(void);
/* Returns the rate limiter shared by all workers (borrowed). */
struct ratelimit	*api_ratelimit(void);
/* Returns the JSON body limits from the configuration (borrowed). */
const struct api_json_limits	*api_json_limits(void);

#endif
