/* SPDX-License-Identifier: ISC */
/*
 * Cursor persistence. The value stored is only ever a position whose
 * messages the broker has confirmed (see tracker.c), so restarting from it
 * can duplicate but never lose; duplicates are absorbed downstream by rev
 * ordering.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cursor.h"
#include "db.h"
#include "util.h"

int
cursor_load(struct atc_db *db, const char *host, int64_t *seq, int *found,
    char *err, size_t errlen)
{
	const char	*params[1] = { host };
	char		 value[32], *end;
	long long	 v;

	if (atc_db_query_value(db, "SELECT seq FROM ingest_cursors "
	    "WHERE host = $1", 1, params, value, sizeof(value), found, err,
	    errlen) == -1)
		return -1;
	if (!*found)
		return 0;
	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return atc_seterr(err, errlen, "cursor: bad stored value");
	*seq = v;
	return 0;
}

int
cursor_save(struct atc_db *db, const char *host, int64_t seq, char *err,
    size_t errlen)
{
	char		 value[32];
	const char	*params[2] = { host, value };

	(void)snprintf(value, sizeof(value), "%" PRId64, seq);
	return atc_db_exec(db, "INSERT INTO ingest_cursors (host, seq) "
	    "VALUES ($1, $2) ON CONFLICT (host) DO UPDATE "
	    "SET seq = EXCLUDED.seq, updated_at = now()", 2, params, err,
	    errlen);
}
