-- Where each consumer resumes: the last source position (firehose seq or
-- Jetstream time_us) whose messages the broker has confirmed, per host.
CREATE TABLE IF NOT EXISTS ingest_cursors (
	host		text PRIMARY KEY,
	seq		bigint NOT NULL CHECK (seq >= 0),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
