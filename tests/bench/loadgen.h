/* SPDX-License-Identifier: ISC */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

struct atc_buf;

/*
 * The synthetic calendar firehose of the end-to-end benchmark. Every frame
 * is a pure function of its seq and the parameters below, so a reconnect
 * with ?cursor=N replays exactly the same bytes. Seq s belongs to DID
 * (s-1) % ndids as that DID's k-th op, k = (s-1) / ndids; k % 10 picks the
 * op (event creates, an update, deletes, RSVP creates and deletes). Ops
 * that refer to an earlier record (update, delete, RSVP subject) pick one
 * written at least `lag` ops of that DID earlier, so it is already stored
 * when the reference arrives.
 */
enum loadgen_kind {
	LOADGEN_EVENT_CREATE = 0,
	LOADGEN_EVENT_UPDATE,
	LOADGEN_EVENT_DELETE,
	LOADGEN_RSVP_CREATE,
	LOADGEN_RSVP_DELETE,
};

struct loadgen {
	uint64_t	 base_us;	/* TID time of seq 0 (Unix us) */
	uint64_t	 ndids;
	uint64_t	 lag;		/* per-DID ops between a record and a reference */
	char		(*dids)[33];	/* owned: ndids "did:plc:..." strings */
};

/* Fills g (caller-owned; loadgen_cleanup() frees it). ndids >= 1. */
void	loadgen_init(struct loadgen *g, uint64_t base_us, uint64_t ndids,
	    uint64_t lag);
void	loadgen_cleanup(struct loadgen *g);

/* The op of seq s (>= 1): its kind and the at-uri it writes (uri, NUL-
 * terminated, urilen >= 128) and rev (14 bytes incl. NUL). */
enum loadgen_kind	loadgen_op(const struct loadgen *g, uint64_t s,
			    char *uri, size_t urilen, char rev[14]);

/* Appends the complete subscribeRepos #commit frame of seq s (header and
 * payload, DAG-CBOR, with its CAR) to out. time_us is written as the
 * frame's "time". */
void	loadgen_frame(const struct loadgen *g, uint64_t s, uint64_t time_us,
	    struct atc_buf *out);

#endif
