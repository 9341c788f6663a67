/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_PUBBATCH_H
#define CONSUMER_PUBBATCH_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Publish batches (INGESTER_BATCH_SIZE, INGESTER_BATCH_TIMEOUT_MS). Every
 * message is published at once; a batch only groups them for the broker's
 * confirms and the cursor. A batch opens with its first message and closes
 * when it holds `size` messages, when no further frame is waiting at the
 * source (so a lone message never waits), or `timeout_ms` after it opened,
 * whichever comes first. A closed batch is one cursor checkpoint: its last
 * frame becomes safe once every message up to its last delivery tag is
 * confirmed. The confirmed cursor is stored once `size` more messages are
 * confirmed, or `timeout_ms` after the last store when the safe position
 * moved. Pure bookkeeping, no I/O; times are monotonic milliseconds.
 */
struct pubbatch {
	uint32_t	size;		/* messages that fill a batch */
	uint32_t	timeout_ms;	/* longest a batch stays open */
	uint32_t	nmsgs;		/* in the open batch; 0 = none open */
	uint64_t	opened_ms;	/* when its first message went out */
	int64_t		seq;		/* last frame handled in it, -1 none */
	uint64_t	tag;		/* its newest delivery tag */
	uint64_t	stored_acked;	/* confirmed tags at the last store */
	uint64_t	stored_ms;	/* when the cursor was last stored */
};

/* Why a batch closes. */
enum pubbatch_close {
	PUBBATCH_KEEP = 0,	/* stays open */
	PUBBATCH_FULL,		/* size messages */
	PUBBATCH_IDLE,		/* no frame waiting at the source */
	PUBBATCH_TIMEOUT,	/* open timeout_ms */
};

/* Caller-owned storage; size >= 1, timeout_ms >= 1. */
void	pubbatch_init(struct pubbatch *, uint32_t size, uint32_t timeout_ms,
	    uint64_t now_ms);
/* Forgets the open batch (the broker connection was lost: its messages
 * are replayed from the source). Tags restart from 1 after a reconnect,
 * so the store count restarts too. */
void	pubbatch_reset(struct pubbatch *, uint64_t now_ms);
/* One message went out with delivery tag `tag`; opens a batch if none. */
void	pubbatch_published(struct pubbatch *, uint64_t tag, uint64_t now_ms);
/* Frame `seq` is handled, after its messages. Returns true when it joins
 * the open batch (its checkpoint comes with the batch's close), false when
 * no batch is open: the caller hands it to the tracker itself. */
bool	pubbatch_frame(struct pubbatch *, int64_t seq);
/* Whether the open batch must close now; idle: no frame is waiting at the
 * source. PUBBATCH_KEEP when none is open. */
enum pubbatch_close	pubbatch_due(const struct pubbatch *, uint64_t now_ms,
			    bool idle);
/* Milliseconds until the open batch times out (0: due now), or -1 when
 * none is open. */
int64_t	pubbatch_left_ms(const struct pubbatch *, uint64_t now_ms);
/* Closes the open batch; *seq (-1 when no frame joined) and *tag get its
 * checkpoint. Returns its message count (0: none was open). */
uint32_t	pubbatch_close(struct pubbatch *, int64_t *seq, uint64_t *tag);
/* Whether the cursor should be stored now: the safe position moved since
 * the last store (moved) and either `size` messages were confirmed since
 * then (acked: highest contiguous confirmed tag) or timeout_ms passed. */
bool	pubbatch_store_due(const struct pubbatch *, uint64_t acked, bool moved,
	    uint64_t now_ms);
/* The cursor was stored (or had nothing new) at now_ms with acked tags. */
void	pubbatch_stored(struct pubbatch *, uint64_t acked, uint64_t now_ms);

#endif
