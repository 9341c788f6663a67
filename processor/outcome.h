/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_OUTCOME_H
#define PROCESSOR_OUTCOME_H

#include <stddef.h>

struct atc_mq_rung;

/* The fate of one message: ack it, send it round the retry ladder, or park
 * it in the dead-letter queue. */
enum outcome {
	OUTCOME_OK,
	OUTCOME_RETRY,
	OUTCOME_DROP,
};

/* Classifies an API answer. status is the HTTP status, or 0 when no answer
 * arrived (connect error, timeout, reset). Pure. */
enum outcome	outcome_classify(long status);
/* "ok", "retry" or "drop" (static). */
const char	*outcome_name(enum outcome);
/* Parses a Retry-After value in delta-seconds (leading/trailing blanks
 * allowed). Returns the seconds (capped at one day), or -1 when absent,
 * malformed or an HTTP-date. */
long		 outcome_retry_after(const char *value);
/* Chooses the retry rung for a message that has now failed `attempts`
 * times (1 = first failure): rung attempts-1, raised to the first rung whose
 * TTL is >= retry_after_s (when >= 0; the last rung if none is). Returns an
 * index into ladder, or -1 once attempts exceeds the ladder (park it). */
int		 outcome_pick_rung(long long attempts, long retry_after_s,
		    const struct atc_mq_rung *ladder, size_t nladder);

#endif
