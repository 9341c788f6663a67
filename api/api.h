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

struct api_config {
	char		*listen;	/* API_LISTEN host:port */
	long long	 workers;	/* API_WORKERS */
	char		*database_url;	/* DATABASE_URL */
	char		*service_api_keys; /* SERVICE_API_KEYS (secret) */
	char		*log_level;	/* LOG_LEVEL */
	char		*schema_dir;	/* SCHEMA_DIR */
	long long	 body_max;	/* API_BODY_MAX, bytes */
};

/* Returns the configuration (borrowed, lives for the process). */
const struct api_config	*api_config(void);
/* Returns the parsed service keys (borrowed, lives for the process). */
const struct api_keys	*api_keys(void);
/* Returns this worker's database handle (borrowed) once the schema has been
 * migrated, or NULL while the database cannot be reached (answer 503). */
struct atc_db		*api_db(void);

#endif
