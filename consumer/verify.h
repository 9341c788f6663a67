/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_VERIFY_H
#define CONSUMER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

struct atc_didres;
struct atc_frame;
struct atc_metrics;

/*
 * Firehose trust (VERIFY_SIGNATURES=calendar): the signature of every
 * #commit with a kept op other than a profile (app.bsky.actor.profile) is
 * checked against the #atproto key of the repo's DID document before
 * anything is published. A failing commit's kept ops are marked FAILED
 * with a "signature: ..." cause, so the caller drops and logs them one by
 * one and the frame still advances the cursor.
 */
enum verify_result {
	VERIFY_OK = 0,
	VERIFY_REJECTED,	/* bad commit, no key, or signature mismatch */
	VERIFY_UNRESOLVED,	/* the DID document could not be fetched */
};

struct verify;

/* Returns a new verifier resolving keys with res (borrowed, must outlive
 * it); metrics may be NULL, else atcal_consumer_signature_* series are
 * created in it. Free with verify_free(). */
struct verify	*verify_new(struct atc_didres *res, struct atc_metrics *);
void		 verify_free(struct verify *);

/* Checks f's commit (f->kind must be ATC_FRAME_COMMIT) whatever its ops:
 * commit block present and hash-checked, its did/rev equal the frame's,
 * its signature valid for the DID's key (one forced document refresh on
 * mismatch). On failure cause (capacity causelen) says why. Blocking when
 * the key is not cached. */
enum verify_result	verify_commit(struct verify *, const struct atc_frame *f,
			    char *cause, size_t causelen);

/* The ingest hook: when f is a commit with kept ops, not all of them
 * profiles, verifies it and on failure turns every kept op into a FAILED
 * one whose error is "signature: <cause>" (text owned by v, valid until
 * the next call), counting the reason. When the key cannot be fetched at
 * all the ops are kept (logged as signature_unverified and counted): the
 * relay verified them already and dropping would lose them. Returns true
 * when the ops were rejected. Commits without kept ops, or with profiles
 * only, cost nothing. */
bool	verify_frame(struct verify *v, struct atc_frame *f);

#endif
