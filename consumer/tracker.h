/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_TRACKER_H
#define CONSUMER_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Which source position is safe to store as the cursor: the highest seq
 * such that every message published for it and for every earlier frame is
 * confirmed by the broker. Frames that publish nothing only need the
 * messages before them confirmed. Pure bookkeeping, no I/O.
 */
struct tracker_entry {
	int64_t		seq;	/* last frame seq covered by this entry */
	uint64_t	tag;	/* delivery tag that must be confirmed */
};

struct tracker {
	struct tracker_entry	*ring;		/* owned */
	uint32_t		 cap;		/* power of two */
	uint32_t		 head;		/* oldest entry */
	uint32_t		 len;
	int64_t			 safe_seq;	/* -1: nothing safe yet */
};

/* Caller-owned storage; safe_seq starts at `start_seq` (the cursor the
 * source was opened with, -1 for none). */
void	tracker_init(struct tracker *, int64_t start_seq);
void	tracker_cleanup(struct tracker *);
/* Records that frame `seq` is fully handled once every delivery tag up
 * to `last_tag` (0 = none published yet) is confirmed. */
void	tracker_frame_done(struct tracker *, int64_t seq, uint64_t last_tag);
/* The broker confirmed every tag <= acked; returns true when safe_seq
 * moved. */
bool	tracker_confirmed(struct tracker *, uint64_t acked);
/* Forgets everything pending (connection lost): safe_seq stays. */
void	tracker_reset(struct tracker *);

#endif
