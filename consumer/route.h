/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_ROUTE_H
#define CONSUMER_ROUTE_H

/* The first word of a message's routing key for a collection: "event"
 * (community.lexicon.calendar.event and the legacy Smoke Signal event),
 * "rsvp" (likewise), "profile" (app.bsky.actor.profile), "record" for
 * anything else. Returns a static string. */
const char	*route_kind(const char *collection);

#endif
