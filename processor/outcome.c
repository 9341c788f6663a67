/* SPDX-License-Identifier: ISC */
/*
 * Outcome policy, in one place and pure: which API answers are worth
 * retrying and how long each retry waits. A message that can never succeed
 * (invalid record, 400, 422, 413) is parked at once; one that might (no
 * answer, 5xx, 429, 424 event_not_yet_known, a key the API does not accept
 * yet) climbs the retry ladder and is parked only after its last rung.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "mq.h"
#include "outcome.h"

#define RETRY_AFTER_MAX_S	86400

enum outcome
outcome_classify(long status)
{
	if (status >= 200 && status <= 299)
		return OUTCOME_OK;
	if (status <= 0 || status >= 500)
		return OUTCOME_RETRY;
	switch (status) {
	case 408:	/* request timeout */
	case 424:	/* event_not_yet_known: the event is on its way */
	case 425:	/* too early */
	case 429:	/* throttled */
	/*
	 * A rejected key is an operator problem, not the record's: retrying
	 * keeps the messages until the key is fixed (and parks them, still
	 * replayable, if it never is).
	 */
	case 401:
	case 403:
		return OUTCOME_RETRY;
	default:
		return OUTCOME_DROP;
	}
}

const char *
outcome_name(enum outcome o)
{
	switch (o) {
	case OUTCOME_OK:
		return "ok";
	case OUTCOME_RETRY:
		return "retry";
	case OUTCOME_DROP:
		return "drop";
	}
	return "unknown";
}

long
outcome_retry_after(const char *v)
{
	char		*end;
	long long	 n;

	if (v == NULL)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end != '\0')
		return -1;
	if (errno == ERANGE || n > RETRY_AFTER_MAX_S)
		return RETRY_AFTER_MAX_S;
	return (long)n;
}

int
outcome_pick_rung(long long attempts, long retry_after_s,
    const struct atc_mq_rung *ladder, size_t nladder)
{
	size_t	i, rung;

	if (attempts < 1 || nladder == 0 || (unsigned long long)attempts >
	    nladder)
		return attempts < 1 && nladder > 0 ? 0 : -1;
	rung = (size_t)(attempts - 1);
	if (retry_after_s >= 0) {
		for (i = 0; i < nladder; i++)
			if (ladder[i].ttl_ms >= (long long)retry_after_s * 1000)
				break;
		if (i == nladder)
			i = nladder - 1;
		if (i > rung)
			rung = i;
	}
	return (int)rung;
}
