/* SPDX-License-Identifier: ISC */
/*
 * The only libpq caller. A handle owns one synchronous connection plus the
 * conninfo to rebuild it: a call made while the connection is down connects
 * again first, so a database restart costs the callers one failed request,
 * never a restart of the service. Inside a transaction it never reconnects.
 * gssencmode=disable is forced because Kore's worker seccomp filter kills a
 * process on the syscalls libpq's GSS probe makes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "util.h"

struct atc_db {
	char	*conninfo;	/* owned */
	PGconn	*conn;		/* owned; NULL when never connected */
	bool	 in_txn;	/* BEGIN sent, no COMMIT/ROLLBACK yet */
	bool	 down;		/* last failure was the connection */
};

struct atc_db_result {
	PGresult	*res;	/* owned */
};

static void
db_notice_ignore(void *arg, const char *message)
{
	/* NOTICEs ("already exists, skipping") are not events worth a line. */
}

static int
db_errmsg(char *err, size_t errlen, const char *what, const char *msg)
{
	size_t	len;
	char	tmp[ATC_ERRLEN];

	(void)snprintf(tmp, sizeof(tmp), "%s", msg != NULL ? msg : "");
	for (len = 0; tmp[len] != '\0'; len++)
		if (tmp[len] == '\n' || tmp[len] == '\t')
			tmp[len] = ' ';
	while (len > 0 && (tmp[len - 1] == '\n' || tmp[len - 1] == ' '))
		tmp[--len] = '\0';
	return atc_seterr(err, errlen, "%s: %s", what, tmp);
}

static int
db_open(struct atc_db *db, char *err, size_t errlen)
{
	/* Later keywords override what the expanded dbname set. */
	const char *const keys[] = { "connect_timeout", "dbname",
	    "gssencmode", "application_name", NULL };
	const char *const vals[] = { "5", db->conninfo, "disable", "atcal",
	    NULL };

	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL)
		return atc_seterr(err, errlen, "connect: out of memory");
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db->down = true;
		db_errmsg(err, errlen, "connect", PQerrorMessage(db->conn));
		PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	PQsetNoticeProcessor(db->conn, db_notice_ignore, NULL);
	db->down = false;
	return 0;
}

/* Makes sure a usable connection exists before a statement. */
static int
db_ready(struct atc_db *db, char *err, size_t errlen)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->in_txn) {
		db->down = true;
		return atc_seterr(err, errlen,
		    "connection lost inside a transaction");
	}
	return db_open(db, err, errlen);
}

struct atc_db *
atc_db_new(const char *conninfo)
{
	struct atc_db	*db;

	db = atc_xcalloc(1, sizeof(*db));
	db->conninfo = atc_xstrdup(conninfo);
	return db;
}

struct atc_db *
atc_db_connect(const char *conninfo, char *err, size_t errlen)
{
	struct atc_db	*db;

	db = atc_db_new(conninfo);
	if (db_open(db, err, errlen) == -1) {
		atc_db_free(db);
		return NULL;
	}
	return db;
}

void
atc_db_free(struct atc_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

/* Runs sql; on success returns the result (caller PQclears), else NULL. */
static PGresult *
db_run(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, bool script, char *err, size_t errlen)
{
	PGresult	*res;
	ExecStatusType	 st;

	int		 attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (db_ready(db, err, errlen) == -1)
			return NULL;
		if (script)
			res = PQexec(db->conn, sql);
		else
			res = PQexecParams(db->conn, sql, nparams, NULL,
			    params, NULL, NULL, 0);
		st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return res;
		db->down = PQstatus(db->conn) != CONNECTION_OK;
		/* A connection that died while idle (server restart) is
		 * only noticed now: reconnect and run it once more. */
		if (!db->down || db->in_txn || attempt == 1)
			break;
		PQclear(res);
		res = NULL;
	}
	db_errmsg(err, errlen, db->down ? "connection" : "query",
	    res != NULL ? PQresultErrorMessage(res) :
	    PQerrorMessage(db->conn));
	PQclear(res);
	return NULL;
}

int
atc_db_exec(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, char *err, size_t errlen)
{
	PGresult	*res;

	if ((res = db_run(db, sql, nparams, params, false, err, errlen)) ==
	    NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
atc_db_exec_script(struct atc_db *db, const char *sql, char *err,
    size_t errlen)
{
	PGresult	*res;

	if ((res = db_run(db, sql, 0, NULL, true, err, errlen)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
atc_db_query_value(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, char *out, size_t outlen, int *found,
    char *err, size_t errlen)
{
	PGresult	*res;
	int		 ret = -1;
	size_t		 len;

	*found = 0;
	if (outlen > 0)
		out[0] = '\0';
	if ((res = db_run(db, sql, nparams, params, false, err, errlen)) ==
	    NULL)
		goto out;
	if (PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !PQgetisnull(res, 0, 0)) {
		len = (size_t)PQgetlength(res, 0, 0);
		if (len >= outlen) {
			atc_seterr(err, errlen, "value of %zu bytes too long",
			    len);
			goto out;
		}
		memcpy(out, PQgetvalue(res, 0, 0), len);
		out[len] = '\0';
		*found = 1;
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

int
atc_db_query(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, struct atc_db_result **out, char *err,
    size_t errlen)
{
	PGresult	*res;

	*out = NULL;
	if ((res = db_run(db, sql, nparams, params, false, err, errlen)) ==
	    NULL)
		return -1;
	*out = atc_xmalloc(sizeof(**out));
	(*out)->res = res;
	return 0;
}

int
atc_db_begin(struct atc_db *db, char *err, size_t errlen)
{
	if (atc_db_exec(db, "BEGIN", 0, NULL, err, errlen) == -1)
		return -1;
	db->in_txn = true;
	return 0;
}

int
atc_db_commit(struct atc_db *db, char *err, size_t errlen)
{
	int	rc;

	rc = atc_db_exec(db, "COMMIT", 0, NULL, err, errlen);
	db->in_txn = false;
	return rc;
}

void
atc_db_rollback(struct atc_db *db)
{
	PGresult	*res;

	if (db->in_txn && db->conn != NULL &&
	    PQstatus(db->conn) == CONNECTION_OK) {
		res = PQexec(db->conn, "ROLLBACK");
		PQclear(res);
	}
	db->in_txn = false;
}

int
atc_db_ping(struct atc_db *db)
{
	char	err[ATC_ERRLEN];

	return atc_db_exec(db, "SELECT 1", 0, NULL, err, sizeof(err));
}

int
atc_db_down(const struct atc_db *db)
{
	return db->down ? 1 : 0;
}

int
atc_db_result_nrows(const struct atc_db_result *r)
{
	return PQntuples(r->res);
}

const char *
atc_db_result_value(const struct atc_db_result *r, int row, int col)
{
	if (row < 0 || row >= PQntuples(r->res) || col < 0 ||
	    col >= PQnfields(r->res) || PQgetisnull(r->res, row, col))
		return NULL;
	return PQgetvalue(r->res, row, col);
}

void
atc_db_result_free(struct atc_db_result *r)
{
	if (r == NULL)
		return;
	PQclear(r->res);
	free(r);
}
