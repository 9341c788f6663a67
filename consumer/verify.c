/* SPDX-License-Identifier: ISC */
/*
 * Commit signature verification for calendar commits. The signed bytes are
 * the commit block minus its "sig" entry (mst.c rebuilds them from the
 * original canonical bytes), hashed once; the key comes from the DID
 * document through the shared resolver's cache, refreshed once when the
 * signature does not match (key rotation). Only commits with kept ops get
 * here, so a slow PLC directory delays calendar commits only; a cached key
 * costs one SHA-256 and one ECDSA verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "car.h"
#include "crypto_hash.h"
#include "crypto_sig.h"
#include "didres.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "mst.h"
#include "settings.h"
#include "util.h"
#include "verify.h"

/*
 * Profiles (forwarded with FORWARD_IDENTITY) come from the whole network:
 * checking their commits would fetch a DID document, on the reading
 * thread, for nearly every repo that updates its profile, when the API
 * keeps profiles only of the few DIDs it knows. A commit is checked when
 * one of its kept ops is something else (a calendar record); the relay
 * has checked every commit already.
 */
#define NSID_PROFILE	"app.bsky.actor.profile"

enum reason {
	REASON_COMMIT = 0,	/* commit block missing, corrupt, not ours */
	REASON_DID,		/* DID document gone, or without a key */
	REASON_UNRESOLVED,	/* DID document unreachable */
	REASON_MISMATCH,	/* signature invalid for the current key */
	NREASONS,
};

static const char *const reason_names[NREASONS] = {
	"commit", "did_document", "unresolved", "mismatch",
};

struct verify {
	struct atc_didres	*res;		/* borrowed */
	struct atc_buf		 unsig;		/* signed bytes, reused */
	char			 cause[ATC_ERRLEN + 16]; /* last rejection */
	struct atc_metric	*m_fail[NREASONS];
	struct atc_metric	*m_ok;
	struct atc_histogram	*m_seconds;
};

struct verify *
verify_new(struct atc_didres *res, struct atc_metrics *m)
{
	struct verify	*v;
	char		 labels[64];
	int		 i;

	v = atc_xcalloc(1, sizeof(*v));
	v->res = res;
	atc_buf_init(&v->unsig, 512);
	for (i = 0; i < NREASONS; i++) {
		(void)snprintf(labels, sizeof(labels), "reason=\"%s\"",
		    reason_names[i]);
		v->m_fail[i] = atc_metrics_counter(m,
		    "atcal_consumer_signature_failures_total",
		    "commits whose calendar ops were dropped for their "
		    "signature", labels);
	}
	v->m_ok = atc_metrics_counter(m,
	    "atcal_consumer_signature_verified_total",
	    "calendar commits whose signature was verified", NULL);
	v->m_seconds = atc_metrics_histogram(m,
	    "atcal_consumer_signature_verify_seconds",
	    "signature check of one calendar commit, key lookup included",
	    NULL, atc_metrics_latency_buckets, atc_metrics_nlatency_buckets);
	return v;
}

void
verify_free(struct verify *v)
{
	if (v == NULL)
		return;
	atc_buf_cleanup(&v->unsig);
	free(v);
}

/* Reads the frame's commit object and leaves its SHA-256 of the unsigned
 * bytes in digest and the signature in *rc. */
static int
signed_digest(struct verify *v, const struct atc_frame *f,
    struct atc_repo_commit *rc, uint8_t digest[ATC_SHA256_LEN], char *err,
    size_t errlen)
{
	struct atc_car		 car;
	struct atc_car_index	*idx = NULL;
	char			 why[ATC_ERRLEN];
	int			 ret = -1;

	if (f->kind != ATC_FRAME_COMMIT || f->did == NULL || f->rev == NULL ||
	    f->commit == NULL || f->blocks == NULL) {
		atc_seterr(err, errlen, "commit: frame lacks repo, rev, commit "
		    "or blocks");
		goto out;
	}
	if (atc_car_open(&car, f->blocks, f->blocks_len, f->blocks_offset,
	    why, sizeof(why)) == -1 ||
	    (idx = atc_car_index_new(&car, why, sizeof(why))) == NULL ||
	    atc_repo_commit_read(rc, idx, f->commit, f->commit_len, why,
	    sizeof(why)) == -1) {
		atc_seterr(err, errlen, "commit block: %s", why);
		goto out;
	}
	if (rc->did_len != strlen(f->did) ||
	    memcmp(rc->did, f->did, rc->did_len) != 0) {
		atc_seterr(err, errlen, "commit: did differs from the frame's");
		goto out;
	}
	if (rc->rev_len != strlen(f->rev) ||
	    memcmp(rc->rev, f->rev, rc->rev_len) != 0) {
		atc_seterr(err, errlen, "commit: rev differs from the frame's");
		goto out;
	}
	atc_buf_reset(&v->unsig);
	if (atc_repo_commit_unsigned(&v->unsig, rc, why, sizeof(why)) == -1) {
		atc_seterr(err, errlen, "%s", why);
		goto out;
	}
	atc_sha256(digest, v->unsig.data, v->unsig.len);
	ret = 0;
out:
	/* rc borrows the frame's bytes, not the index: freeing is safe. */
	atc_car_index_free(idx);
	return ret;
}

static enum reason
check(struct verify *v, const struct atc_frame *f, char *err, size_t errlen)
{
	struct atc_repo_commit		rc;
	struct atc_did_doc		doc;
	enum atc_didres_result		r;
	uint8_t				digest[ATC_SHA256_LEN];
	char				why[ATC_ERRLEN];
	int				pass;

	if (signed_digest(v, f, &rc, digest, err, errlen) == -1)
		return REASON_COMMIT;
	/* Pass 0 uses the cached document, pass 1 a fresh one. */
	for (pass = 0; pass < 2; pass++) {
		r = atc_didres_resolve(v->res, f->did, pass == 1, &doc, NULL,
		    why, sizeof(why));
		if (r == ATC_DIDRES_FAIL) {
			atc_seterr(err, errlen, "DID document unavailable: %s",
			    why);
			return REASON_UNRESOLVED;
		}
		if (r == ATC_DIDRES_GONE) {
			atc_seterr(err, errlen, "DID document: %s", why);
			return REASON_DID;
		}
		if (doc.has_key && atc_sig_verify_digest(&doc.key, digest,
		    rc.sig, rc.sig_len, why, sizeof(why)) == 0)
			return NREASONS;
	}
	if (!doc.has_key) {
		atc_seterr(err, errlen, "DID document has no valid #atproto "
		    "key");
		return REASON_DID;
	}
	atc_seterr(err, errlen, "not signed by the #atproto key (%s): %s",
	    atc_key_type_name(doc.key.type), why);
	return REASON_MISMATCH;
}

enum verify_result
verify_commit(struct verify *v, const struct atc_frame *f, char *cause,
    size_t causelen)
{
	enum reason	r;
	uint64_t	t0 = atc_mono_ms();

	r = check(v, f, cause, causelen);
	atc_histogram_observe(v->m_seconds,
	    (double)(atc_mono_ms() - t0) / 1000.0);
	if (r == NREASONS) {
		atc_metric_inc(v->m_ok);
		return VERIFY_OK;
	}
	atc_metric_inc(v->m_fail[r]);
	return r == REASON_UNRESOLVED ? VERIFY_UNRESOLVED : VERIFY_REJECTED;
}

/* Whether a kept op of f needs its commit's signature checked. */
static bool
needs_check(const struct atc_frame *f)
{
	size_t	i;

	for (i = 0; i < f->nops; i++)
		if (f->ops[i].status == ATC_OP_OK &&
		    (f->ops[i].collection == NULL ||
		    strcmp(f->ops[i].collection, NSID_PROFILE) != 0))
			return true;
	return false;
}

bool
verify_frame(struct verify *v, struct atc_frame *f)
{
	struct atc_frame_op	*op;
	char			 why[ATC_ERRLEN];
	size_t			 i;
	enum verify_result	 r;
	char			 q[300];

	if (v == NULL || f->kind != ATC_FRAME_COMMIT || f->nkept == 0 ||
	    !needs_check(f))
		return false;
	if ((r = verify_commit(v, f, why, sizeof(why))) == VERIFY_OK)
		return false;
	/*
	 * The key could not be fetched (directory down, timeout): the relay
	 * has verified this commit already, and dropping would lose the
	 * records for good, so they go on unverified, logged and counted.
	 * A commit that was checked and failed is rejected.
	 */
	if (r == VERIFY_UNRESOLVED) {
		atc_log_warn("signature_unverified", "did=%s seq=%lld cause=%s",
		    f->did ? f->did : "?", (long long)f->seq,
		    atc_log_quote(q, sizeof(q), why));
		return false;
	}
	(void)snprintf(v->cause, sizeof(v->cause), "signature: %s", why);
	for (i = 0; i < f->nops; i++) {
		op = &f->ops[i];
		if (op->status != ATC_OP_OK)
			continue;
		op->status = ATC_OP_FAILED;
		op->error = v->cause;
		f->nkept--;
		f->nfailed++;
	}
	return true;
}
