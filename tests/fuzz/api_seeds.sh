#!/bin/sh
# SPDX-License-Identifier: ISC
# Writes the seed corpora of fuzz_api_validate and fuzz_api_input into
# DIR/api_validate and DIR/api_input: a valid ExternalEventDto, RSVP and
# batch, plus the identifiers, dates and query strings the API parses.
set -eu
d=${1:?usage: api_seeds.sh DIR}
v=$d/api_validate
i=$d/api_input
mkdir -p "$v" "$i"
uri=at://did:plc:2a7ygipkrbh544aqhcav53oy/community.lexicon.calendar.event/3mptbyplj5d2a
ev='{"name":"Meetup","description":"d","startDate":"2026-05-01T18:00:00Z","endDate":"2026-05-01T20:00:00.123+02:00","type":"hybrid","status":"published","visibility":"public","locations":[{"type":"address","name":"x","lat":"0","lon":"12.5"}],"uris":["https://openmeet.net/events/meetup-abc",{"uri":"https://x.example/e"}],"categories":[],"source":{"type":"bluesky","id":"'$uri'","url":"https://openmeet.net/events/meetup-abc","handle":"a.test","metadata":{"rev":"3mptbypluud2a","cid":"bafyrei"},"rawRecord":{"uris":[{"uri":"https://y.example"}]}}}'
rv='{"eventSourceId":"'$uri'","eventSourceType":"bluesky","userDid":"did:plc:2a7ygipkrbh544aqhcav53oy","status":"interested","sourceId":"at://did:plc:2a7ygipkrbh544aqhcav53oy/community.lexicon.calendar.rsvp/3mptbyplj5d2b","timestamp":"2026-05-01","metadata":{"rev":"3mptbypluud2a"}}'
printf '%s' "$ev" >"$v/event"
printf '%s' "$rv" >"$v/rsvp"
printf '{"operations":[{"op":"event.upsert","body":%s},{"op":"rsvp.upsert","body":%s},{"op":"event.delete","sourceId":"%s","sourceType":"bluesky","rev":"3mptbypluud2a"},{"op":"rsvp.delete","sourceId":"%s"}]}' \
    "$ev" "$rv" "$uri" "$uri" >"$v/batch"
printf '{"name":1,"startDate":"2026-02-30","source":{"type":"nope"}}' >"$v/bad_event"
printf '[[[[{"a":"\\u00e9\\ud83d\\ude00"}]]]]' >"$v/nested"
printf '%s' "$uri" >"$i/aturi"
printf '2026-05-01T18:00:00.123+02:00' >"$i/datetime"
printf '2024-02-29' >"$i/date"
printf 'sourceType=bluesky&sourceId=at%%3A%%2F%%2Fdid%%3Aplc%%3Ax%%2Fc%%2Fr+x&rev=3mptbypluud2a' >"$i/query"
printf 'https://openmeet.net/events/meetup-abc-123?x=1' >"$i/slug"
printf '%s' '-12.5e3' >"$i/number"
printf 'tenant_1.a-b' >"$i/tenant"
