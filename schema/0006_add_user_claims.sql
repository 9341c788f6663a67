-- Claiming a shadow account: the row stops being a shadow (is_shadow
-- false) and records when; a shadow merged into an existing real user is
-- deleted after its events and attendances moved (0007,
-- atcal_claim_shadow), so claimed_at marks accounts that were shadows.
ALTER TABLE users ADD COLUMN claimed_at timestamptz;

CREATE INDEX users_tenant_shadow_idx ON users (tenant_id, id)
    WHERE is_shadow;
