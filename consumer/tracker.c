/* SPDX-License-Identifier: ISC */
/*
 * Cursor safety bookkeeping. Entries are appended in frame order with
 * non-decreasing tags; consecutive frames needing the same tag share one
 * entry, so the ring only grows with frames that published something and
 * is bounded by the unconfirmed-message high-water mark.
 */
#include <stdlib.h>
#include <string.h>

#include "tracker.h"
#include "util.h"

#define INITIAL_CAP	1024

void
tracker_init(struct tracker *t, int64_t start_seq)
{
	memset(t, 0, sizeof(*t));
	t->cap = INITIAL_CAP;
	t->ring = atc_xcalloc(t->cap, sizeof(*t->ring));
	t->safe_seq = start_seq;
}

void
tracker_cleanup(struct tracker *t)
{
	free(t->ring);
	t->ring = NULL;
	t->cap = t->len = t->head = 0;
}

static void
grow(struct tracker *t)
{
	struct tracker_entry	*n;
	uint32_t		 i;

	n = atc_xcalloc((size_t)t->cap * 2, sizeof(*n));
	for (i = 0; i < t->len; i++)
		n[i] = t->ring[(t->head + i) & (t->cap - 1)];
	free(t->ring);
	t->ring = n;
	t->head = 0;
	t->cap *= 2;
}

void
tracker_frame_done(struct tracker *t, int64_t seq, uint64_t last_tag)
{
	struct tracker_entry	*last;

	if (t->len > 0) {
		last = &t->ring[(t->head + t->len - 1) & (t->cap - 1)];
		if (last->tag == last_tag) {
			if (seq > last->seq)
				last->seq = seq;
			return;
		}
	} else if (last_tag == 0) {
		/* Nothing outstanding: the frame is safe at once. */
		if (seq > t->safe_seq)
			t->safe_seq = seq;
		return;
	}
	if (t->len == t->cap)
		grow(t);
	t->ring[(t->head + t->len) & (t->cap - 1)] =
	    (struct tracker_entry){ .seq = seq, .tag = last_tag };
	t->len++;
}

bool
tracker_confirmed(struct tracker *t, uint64_t acked)
{
	struct tracker_entry	*e;
	bool			 moved = false;

	while (t->len > 0) {
		e = &t->ring[t->head];
		if (e->tag > acked)
			break;
		if (e->seq > t->safe_seq) {
			t->safe_seq = e->seq;
			moved = true;
		}
		t->head = (t->head + 1) & (t->cap - 1);
		t->len--;
	}
	return moved;
}

void
tracker_reset(struct tracker *t)
{
	t->head = 0;
	t->len = 0;
}
