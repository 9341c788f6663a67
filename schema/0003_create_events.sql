-- Events, one row per (tenant, source type, source id) enforced by the
-- schema (OpenMeet failure 7). rev is the repo revision (a TID) of the last
-- applied write; byte order ("C") is time order. A delete keeps the row as
-- a tombstone (deleted_at, rev) so an older create replayed later cannot
-- bring the event back.
CREATE TABLE events (
	id		bigserial PRIMARY KEY,
	tenant_id	text NOT NULL,
	slug		text NOT NULL,
	source_type	text NOT NULL,
	source_id	text NOT NULL,
	source_url	text,
	source_handle	text,
	source_metadata	jsonb NOT NULL DEFAULT '{}',
	raw_record	jsonb,
	creator_id	bigint REFERENCES users (id),
	name		text,
	description	text,
	start_date	timestamptz,
	end_date	timestamptz,
	type		text,
	status		text,
	visibility	text,
	locations	jsonb NOT NULL DEFAULT '[]',
	uris		jsonb NOT NULL DEFAULT '[]',
	categories	jsonb NOT NULL DEFAULT '[]',
	rev		text COLLATE "C",
	deleted_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT events_tenant_slug_key UNIQUE (tenant_id, slug),
	CONSTRAINT events_tenant_source_key
	    UNIQUE (tenant_id, source_type, source_id)
);

CREATE INDEX events_creator_idx ON events (creator_id);
