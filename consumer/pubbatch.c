/* SPDX-License-Identifier: ISC */
/*
 * Publish batch decisions, kept apart from the I/O so they can be tested
 * alone. The invariant the callers rely on: a batch never holds a message
 * back (publishing happens before the batch is even consulted), and an
 * open batch always closes within timeout_ms, so a checkpoint, and then
 * the stored cursor, follows every message within a bounded time even on
 * a quiet stream.
 */
#include <string.h>

#include "pubbatch.h"

void
pubbatch_init(struct pubbatch *b, uint32_t size, uint32_t timeout_ms,
    uint64_t now_ms)
{
	memset(b, 0, sizeof(*b));
	b->size = size > 0 ? size : 1;
	b->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	b->seq = -1;
	b->stored_ms = now_ms;
}

void
pubbatch_reset(struct pubbatch *b, uint64_t now_ms)
{
	b->nmsgs = 0;
	b->seq = -1;
	b->tag = 0;
	b->stored_acked = 0;
	b->stored_ms = now_ms;
}

void
pubbatch_published(struct pubbatch *b, uint64_t tag, uint64_t now_ms)
{
	if (b->nmsgs == 0) {
		b->opened_ms = now_ms;
		b->seq = -1;
	}
	b->nmsgs++;
	b->tag = tag;
}

bool
pubbatch_frame(struct pubbatch *b, int64_t seq)
{
	if (b->nmsgs == 0)
		return false;
	if (seq > b->seq)
		b->seq = seq;
	return true;
}

enum pubbatch_close
pubbatch_due(const struct pubbatch *b, uint64_t now_ms, bool idle)
{
	if (b->nmsgs == 0)
		return PUBBATCH_KEEP;
	if (b->nmsgs >= b->size)
		return PUBBATCH_FULL;
	if (idle)
		return PUBBATCH_IDLE;
	if (now_ms - b->opened_ms >= b->timeout_ms)
		return PUBBATCH_TIMEOUT;
	return PUBBATCH_KEEP;
}

int64_t
pubbatch_left_ms(const struct pubbatch *b, uint64_t now_ms)
{
	uint64_t	age;

	if (b->nmsgs == 0)
		return -1;
	age = now_ms - b->opened_ms;
	return age >= b->timeout_ms ? 0 : (int64_t)(b->timeout_ms - age);
}

uint32_t
pubbatch_close(struct pubbatch *b, int64_t *seq, uint64_t *tag)
{
	uint32_t	n = b->nmsgs;

	*seq = n > 0 ? b->seq : -1;
	*tag = n > 0 ? b->tag : 0;
	b->nmsgs = 0;
	b->seq = -1;
	return n;
}

bool
pubbatch_store_due(const struct pubbatch *b, uint64_t acked, bool moved,
    uint64_t now_ms)
{
	if (!moved)
		return false;
	/* Tags restart after a reconnect: count from there. */
	if (acked >= b->stored_acked &&
	    acked - b->stored_acked >= b->size)
		return true;
	return now_ms - b->stored_ms >= b->timeout_ms;
}

void
pubbatch_stored(struct pubbatch *b, uint64_t acked, uint64_t now_ms)
{
	b->stored_acked = acked;
	b->stored_ms = now_ms;
}
