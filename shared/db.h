/* SPDX-License-Identifier: ISC */
#ifndef ATC_DB_H
#define ATC_DB_H

#include <stddef.h>

/*
 * Synchronous Postgres access; db.c is the only caller of libpq. A handle
 * remembers its conninfo and reconnects lazily: any call made while the
 * connection is down first tries to connect again (never inside a
 * transaction, whose statements must not silently run outside it). A
 * statement outside a transaction that fails because the connection died is
 * sent once more on a new connection: such statements must be idempotent.
 * Statements always go through parameters; text in, text out.
 */
struct atc_db;
struct atc_db_result;

/* Returns a new handle connected to conninfo (URL or key=value string;
 * gssencmode=disable is forced, connect_timeout defaults to 5 s), or NULL
 * with err filled. Free with atc_db_free(). */
struct atc_db	*atc_db_connect(const char *conninfo, char *err,
		    size_t errlen);
/* Returns a new handle that is not connected yet (the first call or
 * atc_db_ping() connects). Never fails. Free with atc_db_free(). */
struct atc_db	*atc_db_new(const char *conninfo);
/* Closes the connection and frees the handle; accepts NULL. */
void		 atc_db_free(struct atc_db *);

/* Runs one statement with text parameters (NULL entries are SQL NULL),
 * discarding any rows. Returns 0 or -1 with err filled. */
int	atc_db_exec(struct atc_db *, const char *sql, int nparams,
	    const char *const *params, char *err, size_t errlen);
/* Runs one statement and copies the first column of the first row into
 * out (capacity outlen; too long is an error). *found is 0 when there is
 * no row or the value is NULL (out is then ""). Returns 0 or -1. */
int	atc_db_query_value(struct atc_db *, const char *sql, int nparams,
	    const char *const *params, char *out, size_t outlen, int *found,
	    char *err, size_t errlen);
/* Runs one statement and returns its rows in *out (a new result; free with
 * atc_db_result_free()). Returns 0 or -1 with err filled (*out NULL). */
int	atc_db_query(struct atc_db *, const char *sql, int nparams,
	    const char *const *params, struct atc_db_result **out, char *err,
	    size_t errlen);
/* Runs a parameterless script that may hold several statements (used for
 * migration files). Returns 0 or -1 with err filled. */
int	atc_db_exec_script(struct atc_db *, const char *sql, char *err,
	    size_t errlen);

/* Transactions: BEGIN / COMMIT / ROLLBACK. While one is open the handle
 * never reconnects. atc_db_rollback() is safe to call when none is open
 * or the connection is gone. Return 0 or -1 with err filled. */
int	atc_db_begin(struct atc_db *, char *err, size_t errlen);
int	atc_db_commit(struct atc_db *, char *err, size_t errlen);
void	atc_db_rollback(struct atc_db *);

/* Checks the server answers (reconnecting if needed); 0 ok, -1 down. */
int	atc_db_ping(struct atc_db *);
/* Returns 1 when the last failure was a lost or refused connection (the
 * caller should answer "retry later"), 0 for an error of the statement. */
int	atc_db_down(const struct atc_db *);

/* Rows of a result. Values are borrowed, valid while the result lives;
 * atc_db_result_value() returns NULL for SQL NULL or out-of-range cells. */
int		 atc_db_result_nrows(const struct atc_db_result *);
const char	*atc_db_result_value(const struct atc_db_result *, int row,
		    int col);
void		 atc_db_result_free(struct atc_db_result *);

#endif
