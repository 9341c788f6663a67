/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_BACKFILL_H
#define CONSUMER_BACKFILL_H

struct atc_metrics;
struct consumer_config;

/*
 * Backfill: every calendar record already stored in the repositories of
 * one or more relays/PDSs, published as `<kind>.backfill` messages (the
 * live body with operation "create", the snapshot's rev and
 * "backfill":true). Progress is kept per host in Postgres
 * (backfill_enumerations, backfill_repos), so a restarted run continues.
 */

/* `consumer backfill [--reset]`: loads the settings, installs signal
 * handlers, runs once over every host and returns the exit status (0 when
 * every repository was done, 1 otherwise). --reset forgets the stored
 * progress of the configured hosts first. */
int	backfill_main(int argc, char **argv);
/* One run over every configured host; metrics may be NULL (a registry of
 * its own is made and served on METRICS_LISTEN). Returns 0 when every
 * repository is done, -1 otherwise (logged). */
int	backfill_run(const struct consumer_config *, struct atc_metrics *,
	    int reset);
/* Async-signal-safe: workers finish their current repository and stop. */
void	backfill_request_stop(void);

#endif
