// SPDX-License-Identifier: ISC
//
// Writer for test_fetch_event_pds.sh, against one reference PDS, in two
// steps so the test can start the pipeline in between:
//   --step events: an author account writes event E1, and event E2 which it
//     deletes again; a guest account is created. Nothing ingests yet.
//   --step rsvps: the guest RSVPs to E1 (going) and to the deleted E2
//     (interested), with strongRefs holding the events' CIDs.
// The accounts and records are kept in --state; after each step the
// expected final state is written to --out in expect.mjs's format: E1 live,
// E2 deleted, the RSVP to E1 an attendee. The RSVP to E2 can never apply
// and is listed under "orphans" for the test to follow.
//
// Usage: node fetch_write.mjs --info pds.json --state s.json --out e.json
//          --step events|rsvps

import fs from 'node:fs'
import { AtpAgent } from '@atproto/api'

const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'

function die(msg) {
  console.error(`fetch_write.mjs: ${msg}`)
  process.exit(1)
}

function parseArgs(argv) {
  const a = {}
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    if (!k.startsWith('--') || argv[i + 1] === undefined)
      die(`bad argument ${k}`)
    a[k.slice(2)] = argv[i + 1]
  }
  for (const k of ['info', 'state', 'out', 'step'])
    if (!a[k]) die(`--${k} is required`)
  if (a.step !== 'events' && a.step !== 'rsvps') die('bad --step')
  return a
}

async function account(info, name) {
  const acct = { handle: `${name}.test`, email: `${name}@atcal.invalid`,
    password: `pw-${name}` }
  const ag = new AtpAgent({ service: info.pdsUrl })
  const res = await ag.createAccount(acct)
  acct.did = res.data.did
  return { acct, ag }
}

async function login(info, acct) {
  const ag = new AtpAgent({ service: info.pdsUrl })
  await ag.login({ identifier: acct.handle, password: acct.password })
  return ag
}

async function create(ag, did, collection, record) {
  const res = await ag.com.atproto.repo.createRecord({ repo: did,
    collection, record, validate: false })
  return { uri: res.data.uri, cid: res.data.cid, record }
}

function eventRecord(name) {
  return {
    $type: EVENT,
    name,
    description: `${name}, written before the consumer started`,
    createdAt: '2026-03-01T10:00:00.000Z',
    startsAt: '2026-04-01T18:30:00.000Z',
    endsAt: '2026-04-01T21:00:00.000Z',
    mode: `${EVENT}#hybrid`,
    locations: [{ $type: 'community.lexicon.location.geo',
      latitude: '48.8566', longitude: '2.3522', name: 'Paris' }],
  }
}

function expected(s) {
  const r = s.event1.record
  const out = {
    events: { [s.event1.uri]: { did: s.author.did, collection: EVENT,
      name: r.name, description: r.description, startsAt: r.startsAt,
      endsAt: r.endsAt, createdAt: r.createdAt, mode: r.mode, status: null,
      locations: r.locations } },
    rsvps: {},
    deleted: [s.event2.uri],
    orphans: [],
  }
  if (s.rsvp1)
    out.rsvps[s.rsvp1.uri] = { did: s.guest.did, eventUri: s.event1.uri,
      status: 'going' }
  if (s.rsvp2) out.orphans.push(s.rsvp2.uri)
  return out
}

async function main() {
  const a = parseArgs(process.argv.slice(2))
  const info = JSON.parse(fs.readFileSync(a.info, 'utf8'))
  let s = {}
  if (a.step === 'events') {
    const author = await account(info, 'fetchauthor')
    const guest = await account(info, 'fetchguest')
    s.author = author.acct
    s.guest = guest.acct
    s.event1 = await create(author.ag, s.author.did, EVENT,
      eventRecord('Fetched from its PDS'))
    s.event2 = await create(author.ag, s.author.did, EVENT,
      eventRecord('Deleted before anyone looked'))
    const rkey = s.event2.uri.split('/').pop()
    await author.ag.com.atproto.repo.deleteRecord({ repo: s.author.did,
      collection: EVENT, rkey })
  } else {
    s = JSON.parse(fs.readFileSync(a.state, 'utf8'))
    const ag = await login(info, s.guest)
    const rsvp = (ev, status) => ({ $type: RSVP,
      subject: { uri: ev.uri, cid: ev.cid }, status: `${RSVP}#${status}`,
      createdAt: new Date().toISOString() })
    s.rsvp1 = await create(ag, s.guest.did, RSVP, rsvp(s.event1, 'going'))
    s.rsvp2 = await create(ag, s.guest.did, RSVP, rsvp(s.event2, 'interested'))
  }
  fs.writeFileSync(a.state, JSON.stringify(s, null, 2) + '\n')
  fs.writeFileSync(a.out, JSON.stringify(expected(s), null, 2) + '\n')
  console.error(`fetch_write.mjs: done step=${a.step} ` +
    `event1=${s.event1.uri} ` +
    `event2=${s.event2.uri}` +
    `${s.rsvp1 ? ` rsvp1=${s.rsvp1.uri} rsvp2=${s.rsvp2.uri}` : ''}`)
}

main().catch((err) => die(err?.stack || String(err)))
