-- Users known to a tenant. Ingested DIDs get a shadow account
-- (is_shadow = true) until the person signs in. One row per
-- (tenant, provider, did): concurrent first sightings of a DID race on this
-- constraint and the loser reuses the winner's row (OpenMeet failure 4).
CREATE TABLE users (
	id		bigserial PRIMARY KEY,
	tenant_id	text NOT NULL,
	slug		text NOT NULL,
	did		text,
	handle		text,
	provider	text NOT NULL DEFAULT 'bluesky',
	is_shadow	boolean NOT NULL DEFAULT false,
	first_name	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT users_tenant_slug_key UNIQUE (tenant_id, slug),
	CONSTRAINT users_tenant_provider_did_key UNIQUE (tenant_id, provider, did)
);

CREATE INDEX users_tenant_did_idx ON users (tenant_id, did);
