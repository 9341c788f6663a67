/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_LEADER_H
#define CONSUMER_LEADER_H

/*
 * One active consumer per source host among replicas: a Postgres session
 * advisory lock held on a connection of its own. The lock lives exactly as
 * long as that database session, so a replica that dies (even kill -9)
 * releases it at once and a standby takes over at its next check.
 */
struct leader;

/* Returns a new elector for host (not connected yet; never fails); free
 * with leader_free(), which releases the lock. */
struct leader	*leader_new(const char *conninfo, const char *host);
void		 leader_free(struct leader *);
/* Tries to become, or confirms it still is, the leader. Returns 1 when
 * this process holds the lock now, 0 when another replica does, -1 when
 * the database is unreachable (a leader that cannot prove it holds the
 * lock must stop). */
int		 leader_check(struct leader *);

#endif
