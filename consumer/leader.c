/* SPDX-License-Identifier: ISC */
/*
 * Leader election by pg_try_advisory_lock. The database handle reconnects
 * silently after a failure, which would drop a session lock without a
 * word, so holding is re-proved on every check by the backend pid: a new
 * pid means a new session, and the lock must be taken again before the
 * consumer may go on.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "leader.h"
#include "log.h"
#include "util.h"

/* Two-key advisory lock: (ATCAL_LOCK_CLASS, hashtext(host)). */
#define ATCAL_LOCK_CLASS	"1635017569"

struct leader {
	struct atc_db	*db;		/* owned, dedicated connection */
	char		*host;		/* owned */
	char		 pid[32];	/* backend pid that holds the lock */
	bool		 held;
};

struct leader *
leader_new(const char *conninfo, const char *host)
{
	struct leader	*l;

	l = atc_xcalloc(1, sizeof(*l));
	l->db = atc_db_new(conninfo);
	l->host = atc_xstrdup(host);
	return l;
}

void
leader_free(struct leader *l)
{
	if (l == NULL)
		return;
	/* Closing the session releases the lock. */
	atc_db_free(l->db);
	free(l->host);
	free(l);
}

static int
backend_pid(struct leader *l, char *out, size_t outlen)
{
	char	err[ATC_ERRLEN];
	int	found = 0;

	if (atc_db_query_value(l->db, "SELECT pg_backend_pid()", 0, NULL,
	    out, outlen, &found, err, sizeof(err)) == -1 || !found)
		return -1;
	return 0;
}

static void
lose(struct leader *l, const char *cause)
{
	if (l->held)
		atc_log_warn("leader_lost", "host=%s cause=\"%s\"", l->host,
		    cause);
	l->held = false;
	l->pid[0] = '\0';
}

int
leader_check(struct leader *l)
{
	const char	*params[2] = { ATCAL_LOCK_CLASS, l->host };
	char		 pid[32], got[8], err[ATC_ERRLEN];
	int		 found = 0;

	if (backend_pid(l, pid, sizeof(pid)) == -1) {
		lose(l, "database unreachable");
		return -1;
	}
	if (l->held) {
		if (strcmp(pid, l->pid) == 0)
			return 1;
		lose(l, "database session replaced");
	}
	if (atc_db_query_value(l->db, "SELECT pg_try_advisory_lock("
	    "$1::int4, hashtext($2))", 2, params, got, sizeof(got), &found,
	    err, sizeof(err)) == -1 || !found)
		return -1;
	if (strcmp(got, "t") != 0)
		return 0;
	/* The pid is read again: the lock belongs to this session only. */
	if (backend_pid(l, l->pid, sizeof(l->pid)) == -1 ||
	    strcmp(l->pid, pid) != 0) {
		lose(l, "database session replaced");
		return 0;
	}
	l->held = true;
	atc_log_info("leader_acquired", "host=%s", l->host);
	return 1;
}
