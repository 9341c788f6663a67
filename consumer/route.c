/* SPDX-License-Identifier: ISC */
/*
 * Routing keys are `<kind>.<operation>`; the kind depends only on the
 * collection's last two segments, so the current and legacy calendar
 * lexicons land in the same queues.
 */
#include <string.h>

#include "route.h"

static int
ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *
route_kind(const char *collection)
{
	if (ends_with(collection, ".calendar.event"))
		return "event";
	if (ends_with(collection, ".calendar.rsvp"))
		return "rsvp";
	if (strcmp(collection, "app.bsky.actor.profile") == 0)
		return "profile";
	return "record";
}
