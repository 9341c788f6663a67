-- Moderation labels (com.atproto.label.defs#label) per tenant: one row per
-- (source labeler, subject uri, value) holding the newest label by its
-- creation time cts, a negation included (neg true lifts the value), so a
-- replayed or reordered older label never overrides a newer one. The read
-- API hides a subject (event or RSVP at-uri, or a user's DID) carrying a
-- live (not negated, not expired) label whose value is in its hide list.
CREATE TABLE labels (
	tenant_id	text NOT NULL,
	src		text NOT NULL,
	uri		text NOT NULL,
	val		text NOT NULL,
	cid		text,
	neg		boolean NOT NULL DEFAULT false,
	cts		timestamptz NOT NULL,
	exp		timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, src, uri, val)
);

CREATE INDEX labels_live_uri_idx ON labels (tenant_id, uri) WHERE NOT neg;

-- Applies a JSON array of labels {src, uri, cid?, val, neg?, cts, exp?}
-- for tenant t; within the array the last of equal (src, uri, val, cts)
-- wins. Returns {"applied": n, "stale": m}.
CREATE FUNCTION atcal_labels(t text, ls jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	total	int := jsonb_array_length(ls);
	n	int;
BEGIN
	INSERT INTO labels AS l (tenant_id, src, uri, val, cid, neg, cts, exp)
	SELECT DISTINCT ON (x ->> 'src', x ->> 'uri', x ->> 'val') t,
	    x ->> 'src', x ->> 'uri', x ->> 'val', x ->> 'cid',
	    coalesce((x ->> 'neg')::boolean, false),
	    (x ->> 'cts')::timestamptz, (x ->> 'exp')::timestamptz
	FROM jsonb_array_elements(ls) WITH ORDINALITY a(x, i)
	ORDER BY x ->> 'src', x ->> 'uri', x ->> 'val',
	    (x ->> 'cts')::timestamptz DESC, i DESC
	ON CONFLICT (tenant_id, src, uri, val) DO UPDATE SET
	    cid = EXCLUDED.cid, neg = EXCLUDED.neg, cts = EXCLUDED.cts,
	    exp = EXCLUDED.exp, updated_at = now()
	WHERE l.cts < EXCLUDED.cts;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('applied', n, 'stale', total - n);
END $$;

-- Whether subject u of tenant t carries a live label whose value is one of
-- vals (a JSON array of strings). A label with a CID is taken to apply to
-- the subject whatever its version (hiding errs on the safe side).
CREATE FUNCTION atcal_label_hidden(t text, u text, vals jsonb)
    RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT u IS NOT NULL AND EXISTS (SELECT 1 FROM labels l
	    WHERE l.tenant_id = t AND l.uri = u AND NOT l.neg
	    AND vals ? l.val AND (l.exp IS NULL OR l.exp > now()))
$$;
