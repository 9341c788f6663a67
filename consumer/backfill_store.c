/* SPDX-License-Identifier: ISC */
/*
 * Backfill progress in Postgres, the only module touching
 * backfill_enumerations and backfill_repos. A page of the enumeration is
 * stored with its next cursor in one transaction, so a restart neither
 * skips nor loses a page; a repository is marked done only after the
 * broker confirmed every message of its snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill_priv.h"
#include "db.h"
#include "util.h"

int
backfill_store_reset(struct atc_db *db, const char *host, char *err,
    size_t errlen)
{
	const char	*p[1] = { host };

	if (atc_db_exec(db, "DELETE FROM backfill_repos WHERE host = $1", 1,
	    p, err, errlen) == -1)
		return -1;
	return atc_db_exec(db, "DELETE FROM backfill_enumerations WHERE "
	    "host = $1", 1, p, err, errlen);
}

int
backfill_store_enum_get(struct atc_db *db, const char *host,
    const char *scope, char *cursor, size_t cursorlen, bool *done, char *err,
    size_t errlen)
{
	struct atc_db_result	*res = NULL;
	const char		*p[2] = { host, scope }, *v;

	cursor[0] = '\0';
	*done = false;
	if (atc_db_query(db, "SELECT coalesce(cursor, ''), done FROM "
	    "backfill_enumerations WHERE host = $1 AND scope = $2", 2, p, &res,
	    err, errlen) == -1)
		return -1;
	if (atc_db_result_nrows(res) > 0) {
		v = atc_db_result_value(res, 0, 0);
		(void)snprintf(cursor, cursorlen, "%s", v != NULL ? v : "");
		v = atc_db_result_value(res, 0, 1);
		*done = v != NULL && v[0] == 't';
	}
	atc_db_result_free(res);
	return 0;
}

int
backfill_store_enum_page(struct atc_db *db, const char *host,
    const char *scope, char *const *dids, size_t n, const char *next_cursor,
    char *err, size_t errlen)
{
	const char	*p[3];
	size_t		 i;

	if (atc_db_begin(db, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		p[0] = host;
		p[1] = dids[i];
		if (atc_db_exec(db, "INSERT INTO backfill_repos (host, did) "
		    "VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, p, err,
		    errlen) == -1)
			goto fail;
	}
	p[0] = host;
	p[1] = scope;
	p[2] = next_cursor;
	if (atc_db_exec(db, "INSERT INTO backfill_enumerations (host, scope, "
	    "cursor, done) VALUES ($1, $2, $3::text, $3::text IS NULL) ON CONFLICT (host, "
	    "scope) DO UPDATE SET cursor = EXCLUDED.cursor, done = "
	    "EXCLUDED.done, updated_at = now()", 3, p, err, errlen) == -1)
		goto fail;
	return atc_db_commit(db, err, errlen);
fail:
	atc_db_rollback(db);
	return -1;
}

int
backfill_store_pending(struct atc_db *db, struct backfill_host *h,
    struct backfill_job **jobs, size_t *njobs, char *err, size_t errlen)
{
	struct atc_db_result	*res = NULL;
	const char		*p[1] = { h->host }, *did;
	int			 i, n;

	if (atc_db_query(db, "SELECT did FROM backfill_repos WHERE host = $1 "
	    "AND done_at IS NULL ORDER BY did", 1, p, &res, err, errlen) == -1)
		return -1;
	n = atc_db_result_nrows(res);
	*jobs = atc_xrealloc(*jobs, (*njobs + (size_t)n + 1) *
	    sizeof(**jobs));
	for (i = 0; i < n; i++) {
		if ((did = atc_db_result_value(res, i, 0)) == NULL)
			continue;
		(*jobs)[*njobs].host = h;
		(*jobs)[*njobs].did = atc_xstrdup(did);
		(*jobs)[*njobs].pds = NULL;
		(*njobs)++;
	}
	atc_db_result_free(res);
	return 0;
}

int
backfill_store_done(struct atc_db *db, const char *host, const char *did,
    const char *rev, long long nrecords, const char *error, char *err,
    size_t errlen)
{
	char		 n[32];
	const char	*p[5] = { host, did, rev, n, error };

	(void)snprintf(n, sizeof(n), "%lld", nrecords);
	return atc_db_exec(db, "UPDATE backfill_repos SET rev = $3, records = "
	    "$4::bigint, error = $5, done_at = now() WHERE host = $1 AND "
	    "did = $2", 5, p, err, errlen);
}

int
backfill_store_failed(struct atc_db *db, const char *host, const char *did,
    const char *error, char *err, size_t errlen)
{
	const char	*p[3] = { host, did, error };

	return atc_db_exec(db, "UPDATE backfill_repos SET error = $3 WHERE "
	    "host = $1 AND did = $2", 3, p, err, errlen);
}
