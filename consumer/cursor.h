/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_CURSOR_H
#define CONSUMER_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct atc_db;

/* The stored cursor per source host (table ingest_cursors). This module is
 * the only one that touches it. */

/* Reads host's cursor into *seq; *found is 0 when none is stored.
 * Returns 0 or -1 with err. */
int	cursor_load(struct atc_db *, const char *host, int64_t *seq,
	    int *found, char *err, size_t errlen);
/* Stores seq as host's cursor. Returns 0 or -1 with err. */
int	cursor_save(struct atc_db *, const char *host, int64_t seq, char *err,
	    size_t errlen);

#endif
