-- RSVPs / attendances, one row per (tenant, RSVP at-uri). Same rev and
-- tombstone rules as events; deleting one RSVP touches exactly that row
-- (OpenMeet failure 8).
CREATE TABLE attendees (
	id		bigserial PRIMARY KEY,
	tenant_id	text NOT NULL,
	source_type	text NOT NULL,
	source_id	text NOT NULL,
	event_id	bigint REFERENCES events (id),
	user_id		bigint REFERENCES users (id),
	status		text,
	attendee_status	text,
	event_source_id	text,
	metadata	jsonb NOT NULL DEFAULT '{}',
	rev		text COLLATE "C",
	deleted_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT attendees_tenant_source_key UNIQUE (tenant_id, source_id)
);

CREATE INDEX attendees_event_idx ON attendees (event_id)
    WHERE deleted_at IS NULL;
CREATE INDEX attendees_user_idx ON attendees (user_id);
