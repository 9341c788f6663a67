-- Backfill progress per source host (consumer backfill): one row per
-- enumeration (scope '' = com.atproto.sync.listRepos of a PDS, or the
-- collection NSID given to listReposByCollection on a relay) holding the
-- next page cursor and whether it finished, and one row per repository
-- found, marked done with the rev of the snapshot that was published.
CREATE TABLE IF NOT EXISTS backfill_enumerations (
	host		text NOT NULL,
	scope		text NOT NULL,
	cursor		text,
	done		boolean NOT NULL DEFAULT false,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (host, scope)
);

CREATE TABLE IF NOT EXISTS backfill_repos (
	host		text NOT NULL,
	did		text NOT NULL,
	pds		text,
	rev		text,
	records		bigint,
	done_at		timestamptz,
	error		text,
	PRIMARY KEY (host, did)
);

CREATE INDEX IF NOT EXISTS backfill_repos_pending
	ON backfill_repos (host, did) WHERE done_at IS NULL;
