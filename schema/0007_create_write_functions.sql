-- The write path of the integration API as set-returning database
-- functions, so a single POST and a 500-operation batch run the same code in
-- one statement (one transaction, one round trip). Each operation is a
-- jsonb object the api builds from a validated DTO (api/oplist.c):
--   op      event.put | event.del | rsvp.put | rsvp.del
--   lock    the DID (or source key) whose writers are serialised
-- Writers of one DID are serialised by a transaction advisory lock taken up
-- front in a fixed (hash) order, which makes the dedup fallbacks atomic (no
-- check-then-insert race) and concurrent batches deadlock-free; the unique
-- constraints stay the backstop. A write carrying a rev applies only when
-- newer than the stored rev ("C" byte order is TID time order); deletes
-- leave tombstones that keep their rev. Everything stored derives from the
-- winning write alone (the slug too: the current name plus a hash of the
-- source key, "deleted-<hash>" for a tombstone), so the final state does
-- not depend on the order writes arrived in.

-- Finds the user of DID d (a real account first), creating the tenant's
-- shadow account when none exists (OpenMeet failure 4). Caller holds the
-- DID's lock; the unique (tenant, provider, did) constraint backs it.
-- created tells whether this call made the shadow.
CREATE FUNCTION atcal_user(t text, d text, h text, OUT uid bigint,
    OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
	created := false;
	SELECT id INTO uid FROM users WHERE tenant_id = t AND did = d
	    ORDER BY is_shadow, id LIMIT 1;
	IF uid IS NULL THEN
		INSERT INTO users (tenant_id, slug, did, handle, provider,
		    is_shadow, first_name)
		VALUES (t, 'bsky-' || left(md5(d), 20), d, h, 'bluesky', true,
		    coalesce(h, d))
		ON CONFLICT DO NOTHING RETURNING id INTO uid;
		created := uid IS NOT NULL;
		IF uid IS NULL THEN
			SELECT id INTO uid FROM users WHERE tenant_id = t
			    AND did = d ORDER BY is_shadow, id LIMIT 1;
		END IF;
		IF uid IS NULL THEN
			RAISE EXCEPTION 'no user row for DID %', d;
		END IF;
	ELSIF h IS NOT NULL THEN
		UPDATE users SET handle = h, first_name = CASE
		    WHEN first_name IS NULL OR first_name = did
		    OR first_name = handle THEN h ELSE first_name END,
		    updated_at = now()
		WHERE id = uid AND is_shadow AND handle IS DISTINCT FROM h;
	END IF;
END $$;

-- A stored rev wins unless the incoming one is newer; writes without a
-- rev (OpenMeet clients) always apply.
CREATE FUNCTION atcal_rev_newer(incoming text, stored text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT incoming IS NULL OR stored IS NULL
	    OR stored COLLATE "C" < incoming COLLATE "C"
$$;

CREATE FUNCTION atcal_event_slug(name text, st text, sid text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(nullif(trim(both '-' from left(regexp_replace(
	    lower(name), '[^a-z0-9]+', '-', 'g'), 60)), ''), 'event')
	    || '-' || left(md5(st || ':' || sid), 12)
$$;

-- The dedup chain, first match wins: (1) source type + id; (2) source url
-- or an OpenMeet slug from the record's uris; (3) rkey; (4) CID. Every
-- fallback is scoped to the author's DID. (2) and (4) only match events
-- not linked to any record yet (rkey NULL) and only when the record has no
-- row of its own: two records of one repo are never one event. (1) and
-- (3) also find tombstones, so a delete holds whatever comes later.
-- Returns the event id and the method, or NULL.
CREATE FUNCTION atcal_event_find(t text, o jsonb, with_fallbacks boolean,
    OUT eid bigint, OUT method text)
LANGUAGE plpgsql AS $$
DECLARE
	d	text := o ->> 'did';
	rk	text := o ->> 'rkey';
	rkid	bigint;
	urls	text[];
BEGIN
	SELECT id INTO eid FROM events WHERE tenant_id = t
	    AND source_type = o ->> 'sourceType'
	    AND source_id = o ->> 'sourceId';
	IF eid IS NOT NULL THEN
		method := 'source_id';
		RETURN;
	END IF;
	IF d IS NULL THEN
		RETURN;
	END IF;
	IF rk IS NOT NULL THEN
		-- The IS NOT NULL terms let generic plans use the partial
		-- indexes of 0005.
		SELECT id INTO rkid FROM events WHERE tenant_id = t
		    AND author_did = d AND rkey = rk
		    AND author_did IS NOT NULL AND rkey IS NOT NULL;
	END IF;
	IF rkid IS NULL AND with_fallbacks
	    AND jsonb_array_length(coalesce(o -> 'urls', '[]')) > 0 THEN
		urls := ARRAY(SELECT jsonb_array_elements_text(o -> 'urls'));
		SELECT id INTO eid FROM events WHERE tenant_id = t
		    AND author_did = d AND rkey IS NULL AND deleted_at IS NULL
		    AND source_url IS NOT NULL AND source_url = ANY (urls)
		    ORDER BY id LIMIT 1;
		IF eid IS NOT NULL THEN
			method := 'source_url';
			RETURN;
		END IF;
		SELECT id INTO eid FROM events WHERE tenant_id = t
		    AND slug = ANY (ARRAY(SELECT jsonb_array_elements_text(
		    o -> 'slugs'))) AND author_did = d AND rkey IS NULL
		    AND deleted_at IS NULL ORDER BY id LIMIT 1;
		IF eid IS NOT NULL THEN
			method := 'slug';
			RETURN;
		END IF;
	END IF;
	IF rkid IS NOT NULL THEN
		eid := rkid;
		method := 'rkey';
		RETURN;
	END IF;
	IF with_fallbacks AND o ->> 'cid' IS NOT NULL THEN
		SELECT id INTO eid FROM events WHERE tenant_id = t
		    AND author_did = d AND rkey IS NULL AND deleted_at IS NULL
		    AND cid IS NOT NULL AND cid = o ->> 'cid'
		    ORDER BY id LIMIT 1;
		IF eid IS NOT NULL THEN
			method := 'cid';
		END IF;
	END IF;
END $$;

CREATE FUNCTION atcal_event_put(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	f	record;
	uid	bigint;
	sc	boolean := false;
	cur	record;
	r	text := o ->> 'rev';
	newid	bigint;
BEGIN
	IF o ->> 'did' IS NOT NULL THEN
		SELECT u.uid, u.created INTO uid, sc
		    FROM atcal_user(t, o ->> 'did', o ->> 'handle') u;
	END IF;
	f := atcal_event_find(t, o, true);
	IF f.eid IS NULL THEN
		INSERT INTO events AS e (tenant_id, source_type, source_id,
		    slug, source_url, source_handle, source_metadata,
		    raw_record, creator_id, name, description, start_date,
		    end_date, type, status, visibility, locations, uris,
		    categories, rev, author_did, rkey, cid)
		VALUES (t, o ->> 'sourceType', o ->> 'sourceId',
		    atcal_event_slug(o ->> 'name', o ->> 'sourceType',
		    o ->> 'sourceId'), o ->> 'sourceUrl', o ->> 'handle',
		    coalesce(o -> 'metadata', '{}'), o -> 'rawRecord', uid,
		    o ->> 'name', o ->> 'description',
		    (o ->> 'startDate')::timestamptz,
		    (o ->> 'endDate')::timestamptz, o ->> 'type',
		    o ->> 'status', o ->> 'visibility',
		    coalesce(o -> 'locations', '[]'),
		    coalesce(o -> 'uris', '[]'),
		    coalesce(o -> 'categories', '[]'), r, o ->> 'did',
		    o ->> 'rkey', o ->> 'cid')
		ON CONFLICT DO NOTHING RETURNING id INTO newid;
		IF newid IS NOT NULL THEN
			RETURN jsonb_build_object('status', 202, 'applied',
			    true, 'method', 'none', 'shadowCreated', sc,
			    'slug', (SELECT slug FROM events WHERE id = newid));
		END IF;
		-- Lost a race the lock should have prevented (a writer
		-- without the lock): the row is there now, update it.
		f := atcal_event_find(t, o, true);
		IF f.eid IS NULL THEN
			RAISE EXCEPTION 'event insert conflict for %',
			    o ->> 'sourceId';
		END IF;
	END IF;
	SELECT id, rev, slug, name INTO cur FROM events WHERE id = f.eid
	    FOR UPDATE;
	IF NOT atcal_rev_newer(r, cur.rev) THEN
		RETURN jsonb_build_object('status', 202, 'applied', false,
		    'method', f.method, 'shadowCreated', sc, 'slug',
		    cur.slug);
	END IF;
	UPDATE events e SET
	    slug = atcal_event_slug(o ->> 'name', e.source_type,
		e.source_id),
	    source_url = o ->> 'sourceUrl',
	    source_handle = coalesce(o ->> 'handle', e.source_handle),
	    source_metadata = coalesce(o -> 'metadata', '{}'),
	    raw_record = o -> 'rawRecord',
	    creator_id = coalesce(uid, e.creator_id),
	    name = o ->> 'name', description = o ->> 'description',
	    start_date = (o ->> 'startDate')::timestamptz,
	    end_date = (o ->> 'endDate')::timestamptz,
	    type = o ->> 'type', status = o ->> 'status',
	    visibility = o ->> 'visibility',
	    locations = coalesce(o -> 'locations', '[]'),
	    uris = coalesce(o -> 'uris', '[]'),
	    categories = coalesce(o -> 'categories', '[]'),
	    rev = coalesce(r, e.rev),
	    author_did = coalesce(e.author_did, o ->> 'did'),
	    rkey = coalesce(e.rkey, o ->> 'rkey'),
	    cid = coalesce(o ->> 'cid', e.cid),
	    deleted_at = NULL, updated_at = now()
	WHERE e.id = f.eid;
	RETURN jsonb_build_object('status', 202, 'applied', true, 'method',
	    f.method, 'shadowCreated', sc, 'slug', (SELECT slug FROM events
	    WHERE id = f.eid));
END $$;

CREATE FUNCTION atcal_event_del(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	f	record;
	cur	record;
	r	text := o ->> 'rev';
	newid	bigint;
BEGIN
	f := atcal_event_find(t, o, false);
	IF f.eid IS NULL THEN
		INSERT INTO events (tenant_id, source_type, source_id, slug,
		    rev, deleted_at, author_did, rkey)
		VALUES (t, o ->> 'sourceType', o ->> 'sourceId', 'deleted-' ||
		    md5((o ->> 'sourceType') || ':' || (o ->> 'sourceId')), r,
		    now(), o ->> 'did', o ->> 'rkey')
		ON CONFLICT DO NOTHING RETURNING id INTO newid;
		IF newid IS NOT NULL THEN
			RETURN jsonb_build_object('status', 202, 'applied',
			    true);
		END IF;
		f := atcal_event_find(t, o, false);
		IF f.eid IS NULL THEN
			RAISE EXCEPTION 'event tombstone conflict for %',
			    o ->> 'sourceId';
		END IF;
	END IF;
	SELECT id, rev, slug INTO cur FROM events WHERE id = f.eid FOR UPDATE;
	IF NOT atcal_rev_newer(r, cur.rev) THEN
		RETURN jsonb_build_object('status', 202, 'applied', false,
		    'slug', cur.slug);
	END IF;
	-- A tombstone keeps identity and rev only, whatever it replaced.
	UPDATE events SET deleted_at = coalesce(deleted_at, now()),
	    slug = 'deleted-' || md5(source_type || ':' || source_id),
	    rev = coalesce(r, rev), updated_at = now(), source_url = NULL,
	    source_handle = NULL, source_metadata = '{}', raw_record = NULL,
	    creator_id = NULL, name = NULL, description = NULL,
	    start_date = NULL, end_date = NULL, type = NULL, status = NULL,
	    visibility = NULL, locations = '[]', uris = '[]',
	    categories = '[]', cid = NULL
	WHERE id = f.eid;
	RETURN jsonb_build_object('status', 202, 'applied', true, 'slug',
	    cur.slug);
END $$;

-- An RSVP needs its event row (live or tombstone); without one the answer
-- is 424 and nothing is written, so the processor retries (OpenMeet
-- failure 5).
CREATE FUNCTION atcal_rsvp_put(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	ev	record;
	cur	record;
	uid	bigint;
	sc	boolean;
	r	text := o ->> 'rev';
	newid	bigint;
BEGIN
	SELECT id, deleted_at IS NOT NULL AS gone INTO ev FROM events
	    WHERE tenant_id = t AND source_type = o ->> 'eventSourceType'
	    AND source_id = o ->> 'eventSourceId';
	IF ev.id IS NULL AND o ->> 'eventDid' IS NOT NULL THEN
		SELECT id, deleted_at IS NOT NULL AS gone INTO ev FROM events
		    WHERE tenant_id = t AND author_did = o ->> 'eventDid'
		    AND rkey = o ->> 'eventRkey' AND author_did IS NOT NULL
		    AND rkey IS NOT NULL;
	END IF;
	IF ev.id IS NULL THEN
		RETURN jsonb_build_object('status', 424, 'applied', false);
	END IF;
	SELECT u.uid, u.created INTO uid, sc
	    FROM atcal_user(t, o ->> 'did', o ->> 'handle') u;
	SELECT id, rev INTO cur FROM attendees WHERE tenant_id = t
	    AND source_id = o ->> 'sourceId' FOR UPDATE;
	IF cur.id IS NULL THEN
		INSERT INTO attendees (tenant_id, source_type, source_id,
		    event_id, user_id, status, attendee_status,
		    event_source_id, metadata, rev)
		VALUES (t, o ->> 'sourceType', o ->> 'sourceId', ev.id, uid,
		    o ->> 'status', o ->> 'attendeeStatus',
		    o ->> 'eventSourceId', coalesce(o -> 'metadata', '{}'), r)
		ON CONFLICT DO NOTHING RETURNING id INTO newid;
		IF newid IS NOT NULL THEN
			RETURN jsonb_build_object('status', 202, 'applied',
			    true, 'attendeeId', newid, 'eventDeleted',
			    ev.gone, 'shadowCreated', sc);
		END IF;
		SELECT id, rev INTO cur FROM attendees WHERE tenant_id = t
		    AND source_id = o ->> 'sourceId' FOR UPDATE;
	END IF;
	IF NOT atcal_rev_newer(r, cur.rev) THEN
		RETURN jsonb_build_object('status', 202, 'applied', false,
		    'attendeeId', cur.id, 'eventDeleted', ev.gone,
		    'shadowCreated', sc);
	END IF;
	UPDATE attendees SET source_type = o ->> 'sourceType',
	    event_id = ev.id, user_id = uid, status = o ->> 'status',
	    attendee_status = o ->> 'attendeeStatus',
	    event_source_id = o ->> 'eventSourceId',
	    metadata = coalesce(o -> 'metadata', '{}'),
	    rev = coalesce(r, rev), deleted_at = NULL, updated_at = now()
	WHERE id = cur.id;
	RETURN jsonb_build_object('status', 202, 'applied', true,
	    'attendeeId', cur.id, 'eventDeleted', ev.gone, 'shadowCreated',
	    sc);
END $$;

-- Touches exactly the RSVP named by its source id (OpenMeet failure 8).
CREATE FUNCTION atcal_rsvp_del(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	cur	record;
	r	text := o ->> 'rev';
	newid	bigint;
BEGIN
	SELECT id, rev INTO cur FROM attendees WHERE tenant_id = t
	    AND source_id = o ->> 'sourceId' FOR UPDATE;
	IF cur.id IS NULL THEN
		INSERT INTO attendees (tenant_id, source_type, source_id, rev,
		    deleted_at)
		VALUES (t, o ->> 'sourceType', o ->> 'sourceId', r, now())
		ON CONFLICT DO NOTHING RETURNING id INTO newid;
		IF newid IS NOT NULL THEN
			RETURN jsonb_build_object('status', 202, 'applied',
			    true, 'attendeeId', newid);
		END IF;
		SELECT id, rev INTO cur FROM attendees WHERE tenant_id = t
		    AND source_id = o ->> 'sourceId' FOR UPDATE;
	END IF;
	IF NOT atcal_rev_newer(r, cur.rev) THEN
		RETURN jsonb_build_object('status', 202, 'applied', false,
		    'attendeeId', cur.id);
	END IF;
	UPDATE attendees SET deleted_at = coalesce(deleted_at, now()),
	    rev = coalesce(r, rev), updated_at = now(), event_id = NULL,
	    user_id = NULL, status = NULL, attendee_status = NULL,
	    event_source_id = NULL, metadata = '{}'
	WHERE id = cur.id;
	RETURN jsonb_build_object('status', 202, 'applied', true,
	    'attendeeId', cur.id);
END $$;

-- Applies a list of operations for one tenant in the caller's statement
-- (one transaction) and returns one result object per operation, in
-- order. The locks of every DID involved are taken first, sorted.
CREATE FUNCTION atcal_apply(t text, ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	o	jsonb;
	res	jsonb[] := '{}';
BEGIN
	PERFORM pg_advisory_xact_lock(k) FROM (SELECT DISTINCT
	    hashtextextended(t || chr(10) || (x ->> 'lock'), 7305271802) AS k
	    FROM jsonb_array_elements(ops) x WHERE x ->> 'lock' IS NOT NULL
	    ORDER BY 1) s;
	FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP
		res := array_append(res, CASE o ->> 'op'
		    WHEN 'event.put' THEN atcal_event_put(t, o)
		    WHEN 'event.del' THEN atcal_event_del(t, o)
		    WHEN 'rsvp.put' THEN atcal_rsvp_put(t, o)
		    WHEN 'rsvp.del' THEN atcal_rsvp_del(t, o)
		    ELSE jsonb_build_object('status', 400, 'error',
			'unknown_op') END);
	END LOOP;
	RETURN to_jsonb(res);
END $$;

-- Turns the tenant's shadow account of DID d into a real account, or,
-- when target_slug names an existing real user, merges it into that user:
-- events and attendances move, the shadow row goes, the user takes the
-- DID. One transaction (the caller's statement) under the DID's lock.
-- Returns {status, userId, slug, merged, eventsMoved, attendancesMoved}
-- or {status: 404|409, error}.
CREATE FUNCTION atcal_claim_shadow(t text, d text, target_slug text,
    h text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	sh	record;
	tgt	record;
	nev	bigint := 0;
	natt	bigint := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(t || chr(10) || d,
	    7305271802));
	SELECT id, slug INTO sh FROM users WHERE tenant_id = t AND did = d
	    AND is_shadow FOR UPDATE;
	IF target_slug IS NULL THEN
		IF sh.id IS NULL THEN
			SELECT id, slug INTO tgt FROM users WHERE tenant_id = t
			    AND did = d AND NOT is_shadow ORDER BY id LIMIT 1;
			IF tgt.id IS NULL THEN
				RETURN jsonb_build_object('status', 404,
				    'error', 'no_shadow_account');
			END IF;
			RETURN jsonb_build_object('status', 200, 'userId',
			    tgt.id, 'slug', tgt.slug, 'merged', false,
			    'alreadyClaimed', true, 'eventsMoved', 0,
			    'attendancesMoved', 0);
		END IF;
		UPDATE users SET is_shadow = false, claimed_at = now(),
		    handle = coalesce(h, handle), updated_at = now()
		WHERE id = sh.id;
		RETURN jsonb_build_object('status', 200, 'userId', sh.id,
		    'slug', sh.slug, 'merged', false, 'alreadyClaimed', false,
		    'eventsMoved', 0, 'attendancesMoved', 0);
	END IF;
	SELECT id, slug, did, is_shadow INTO tgt FROM users
	    WHERE tenant_id = t AND slug = target_slug FOR UPDATE;
	IF tgt.id IS NULL OR tgt.is_shadow THEN
		RETURN jsonb_build_object('status', 404, 'error',
		    'no_such_user');
	END IF;
	IF tgt.did IS NOT NULL AND tgt.did <> d THEN
		RETURN jsonb_build_object('status', 409, 'error',
		    'user_linked_to_another_did');
	END IF;
	IF sh.id IS NOT NULL THEN
		UPDATE events SET creator_id = tgt.id, updated_at = now()
		WHERE creator_id = sh.id;
		GET DIAGNOSTICS nev = ROW_COUNT;
		UPDATE attendees SET user_id = tgt.id, updated_at = now()
		WHERE user_id = sh.id;
		GET DIAGNOSTICS natt = ROW_COUNT;
		DELETE FROM users WHERE id = sh.id;
	ELSIF tgt.did IS NOT NULL THEN
		RETURN jsonb_build_object('status', 200, 'userId', tgt.id,
		    'slug', tgt.slug, 'merged', false, 'alreadyClaimed', true,
		    'eventsMoved', 0, 'attendancesMoved', 0);
	END IF;
	UPDATE users SET did = d, handle = coalesce(h, handle),
	    claimed_at = CASE WHEN sh.id IS NULL THEN claimed_at ELSE now()
	    END, updated_at = now()
	WHERE id = tgt.id;
	RETURN jsonb_build_object('status', 200, 'userId', tgt.id, 'slug',
	    tgt.slug, 'merged', sh.id IS NOT NULL, 'alreadyClaimed', false,
	    'eventsMoved', nev, 'attendancesMoved', natt);
END $$;
