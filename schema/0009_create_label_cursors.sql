-- Where each subscribeLabels subscriber resumes: the last labeler seq whose
-- messages the broker has confirmed, per labeler host.
CREATE TABLE IF NOT EXISTS label_cursors (
	host		text PRIMARY KEY,
	seq		bigint NOT NULL CHECK (seq >= 0),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
