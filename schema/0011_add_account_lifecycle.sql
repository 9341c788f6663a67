-- Identity and account lifecycle of known users (issue 6): the atproto
-- account status, the resolved handle and PDS, the current profile, and
-- when the DID was last seen. Identity, account and profile messages arrive
-- for the whole network; only DIDs with a users row (shadow or real) cost a
-- write, the rest answer {"known": false} after one index probe. Each kind
-- keeps the position of the last event it applied (account and identity:
-- event time then sequence; profile: repo rev), so replays and reordered
-- deliveries are no-ops. Writers of one DID share the advisory lock of the
-- event write path (0007), so a deleted account cannot race an event write.
ALTER TABLE users
	ADD COLUMN account_active	boolean,	-- NULL: nothing heard
	ADD COLUMN account_status	text,
	ADD COLUMN account_status_updated_at timestamptz,
	ADD COLUMN account_time		timestamptz,
	ADD COLUMN account_seq		bigint,
	ADD COLUMN identity_time	timestamptz,
	ADD COLUMN identity_seq		bigint,
	ADD COLUMN pds			text,
	ADD COLUMN last_seen_at		timestamptz,
	ADD COLUMN profile_rev		text COLLATE "C",
	ADD COLUMN profile_deleted_at	timestamptz,
	ADD COLUMN profile_display_name	text,
	ADD COLUMN profile_description	text,
	ADD COLUMN profile_avatar_cid	text,
	ADD COLUMN profile_banner_cid	text;

-- An incoming (time, seq) position is newer than the stored one; a message
-- without either always applies (like a write without rev).
CREATE FUNCTION atcal_pos_newer(it timestamptz, iseq bigint,
    st timestamptz, sseq bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT (it IS NULL AND iseq IS NULL) OR (st IS NULL AND sseq IS NULL)
	    OR (coalesce(it, '-infinity'), coalesce(iseq, -1)) >
	    (coalesce(st, '-infinity'), coalesce(sseq, -1))
$$;

-- Serialises with atcal_apply's writers of DID d (same lock key).
CREATE FUNCTION atcal_did_lock(t text, d text) RETURNS void
LANGUAGE sql AS $$
	SELECT pg_advisory_xact_lock(hashtextextended(t || chr(10) || d,
	    7305271802))
$$;

-- o: {did, handle, pds?, seq?, time?, resolved, tombstoned?}. Without
-- resolved the handle is only a hint: nothing is written and the answer
-- asks the caller to resolve the DID document. A resolved handle ("" or
-- absent: not verified) replaces the user's handle everywhere it shows.
CREATE FUNCTION atcal_identity(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d	text := o ->> 'did';
	tm	timestamptz := (o ->> 'time')::timestamptz;
	sq	bigint := (o ->> 'seq')::bigint;
	h	text := coalesce(nullif(lower(o ->> 'handle'), ''),
		    'handle.invalid');
	cur	record;
	n	int;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = t
	    AND did = d) THEN
		RETURN jsonb_build_object('known', false);
	END IF;
	-- A replayed or older event needs no resolution.
	IF NOT coalesce((o ->> 'resolved')::boolean, false) THEN
		SELECT identity_time, identity_seq INTO cur FROM users
		    WHERE tenant_id = t AND did = d
		    ORDER BY is_shadow, id LIMIT 1;
		RETURN jsonb_build_object('known', true, 'applied', false,
		    'resolve', atcal_pos_newer(tm, sq, cur.identity_time,
		    cur.identity_seq));
	END IF;
	PERFORM atcal_did_lock(t, d);
	SELECT identity_time, identity_seq, handle INTO cur FROM users
	    WHERE tenant_id = t AND did = d ORDER BY is_shadow, id LIMIT 1;
	IF NOT atcal_pos_newer(tm, sq, cur.identity_time, cur.identity_seq)
	THEN
		RETURN jsonb_build_object('known', true, 'applied', false,
		    'handle', cur.handle);
	END IF;
	IF coalesce((o ->> 'tombstoned')::boolean, false) THEN
		UPDATE users SET account_active = false,
		    account_status = 'tombstoned',
		    account_status_updated_at = coalesce(tm, now())
		WHERE tenant_id = t AND did = d
		    AND account_status IS DISTINCT FROM 'tombstoned';
	END IF;
	UPDATE users SET handle = h, first_name = CASE
	    WHEN first_name IS NULL OR first_name = did
	    OR first_name = handle THEN h ELSE first_name END,
	    pds = coalesce(o ->> 'pds', pds), identity_time = tm,
	    identity_seq = sq,
	    last_seen_at = greatest(last_seen_at, coalesce(tm, now())),
	    updated_at = now()
	WHERE tenant_id = t AND did = d;
	-- The handle an event shows is its author's current one.
	UPDATE events SET source_handle = h, updated_at = now()
	WHERE tenant_id = t AND author_did = d AND deleted_at IS NULL
	    AND source_handle IS DISTINCT FROM h;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('known', true, 'applied', true, 'handle',
	    h, 'eventsUpdated', n);
END $$;

-- o: {did, active, status?, seq?, time?}. An inactive account's events
-- and RSVPs are hidden by the read API (account_active false) and come back
-- when it is active again; status "deleted" tombstones them for good (the
-- tombstones keep their rev, so a replayed create cannot bring them back).
CREATE FUNCTION atcal_account(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d	text := o ->> 'did';
	tm	timestamptz := (o ->> 'time')::timestamptz;
	sq	bigint := (o ->> 'seq')::bigint;
	act	boolean := (o ->> 'active')::boolean;
	st	text := coalesce(o ->> 'status', CASE WHEN act
		    THEN 'active' ELSE 'deactivated' END);
	cur	record;
	nev	int := 0;
	nrs	int := 0;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = t
	    AND did = d) THEN
		RETURN jsonb_build_object('known', false);
	END IF;
	PERFORM atcal_did_lock(t, d);
	SELECT account_time, account_seq, account_status INTO cur FROM users
	    WHERE tenant_id = t AND did = d ORDER BY is_shadow, id LIMIT 1;
	IF NOT atcal_pos_newer(tm, sq, cur.account_time, cur.account_seq) THEN
		RETURN jsonb_build_object('known', true, 'applied', false,
		    'status', cur.account_status);
	END IF;
	UPDATE users SET account_active = act AND st = 'active',
	    account_status = st,
	    account_status_updated_at = CASE WHEN account_status
	    IS DISTINCT FROM st THEN coalesce(tm, now())
	    ELSE account_status_updated_at END,
	    account_time = tm, account_seq = sq,
	    last_seen_at = greatest(last_seen_at, coalesce(tm, now())),
	    updated_at = now()
	WHERE tenant_id = t AND did = d;
	IF st = 'deleted' THEN
		UPDATE events SET deleted_at = coalesce(deleted_at, now()),
		    slug = 'deleted-' || md5(source_type || ':' || source_id),
		    updated_at = now(), source_url = NULL,
		    source_handle = NULL, source_metadata = '{}',
		    raw_record = NULL, creator_id = NULL, name = NULL,
		    description = NULL, start_date = NULL, end_date = NULL,
		    type = NULL, status = NULL, visibility = NULL,
		    locations = '[]', uris = '[]', categories = '[]',
		    cid = NULL
		WHERE tenant_id = t AND deleted_at IS NULL AND (author_did = d
		    OR creator_id IN (SELECT id FROM users WHERE tenant_id = t
		    AND did = d));
		GET DIAGNOSTICS nev = ROW_COUNT;
		UPDATE attendees SET deleted_at = now(), updated_at = now(),
		    metadata = '{}'
		WHERE tenant_id = t AND deleted_at IS NULL AND user_id IN
		    (SELECT id FROM users WHERE tenant_id = t AND did = d);
		GET DIAGNOSTICS nrs = ROW_COUNT;
	END IF;
	RETURN jsonb_build_object('known', true, 'applied', true, 'status',
	    st, 'active', act AND st = 'active', 'eventsRemoved', nev,
	    'rsvpsRemoved', nrs);
END $$;

-- o: {did, rev, operation, time?, displayName?, description?, avatarCid?,
-- bannerCid?, pds?}. Only the current profile is kept: an update replaces
-- every field (a record is written whole), a delete clears them and keeps
-- the rev; deleting a profile is not deleting the account.
CREATE FUNCTION atcal_profile(t text, o jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	d	text := o ->> 'did';
	r	text := o ->> 'rev';
	del	boolean := o ->> 'operation' = 'delete';
	cur	record;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = t
	    AND did = d) THEN
		RETURN jsonb_build_object('known', false);
	END IF;
	PERFORM atcal_did_lock(t, d);
	SELECT profile_rev INTO cur FROM users WHERE tenant_id = t
	    AND did = d ORDER BY is_shadow, id LIMIT 1;
	IF NOT atcal_rev_newer(r, cur.profile_rev) THEN
		RETURN jsonb_build_object('known', true, 'applied', false);
	END IF;
	UPDATE users SET profile_rev = coalesce(r, profile_rev),
	    profile_deleted_at = CASE WHEN del THEN now() END,
	    profile_display_name = CASE WHEN del THEN NULL
	    ELSE o ->> 'displayName' END,
	    profile_description = CASE WHEN del THEN NULL
	    ELSE o ->> 'description' END,
	    profile_avatar_cid = CASE WHEN del THEN NULL
	    ELSE o ->> 'avatarCid' END,
	    profile_banner_cid = CASE WHEN del THEN NULL
	    ELSE o ->> 'bannerCid' END,
	    pds = coalesce(o ->> 'pds', pds),
	    last_seen_at = greatest(last_seen_at,
	    coalesce((o ->> 'time')::timestamptz, now())),
	    updated_at = now()
	WHERE tenant_id = t AND did = d;
	RETURN jsonb_build_object('known', true, 'applied', true,
	    'deleted', del);
END $$;

-- The blob URL of cid on the user's PDS, or NULL when either is unknown.
CREATE FUNCTION atcal_blob_url(pds text, d text, cid text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN pds IS NULL OR cid IS NULL THEN NULL
	    ELSE rtrim(pds, '/') || '/xrpc/com.atproto.sync.getBlob?did=' ||
	    d || '&cid=' || cid END
$$;
