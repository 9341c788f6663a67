// SPDX-License-Identifier: ISC
//
// Writes realistic calendar records to the reference PDS through
// @atproto/api (validate:false, as real clients of these lexicons do) and
// records what the final state must be. Runs in phases so a test can do
// things between them (kill a consumer, restart it); the model of every
// record written so far is kept in the state file, and after each phase the
// expected final state is written:
//   {"events": {uri: {did, collection, name, description, startsAt, endsAt,
//                     createdAt, mode, status, locations}},
//    "rsvps":  {uri: {did, eventUri, status}},
//    "deleted": [uri, ...]}
// Records are deterministic for a given seed (no Math.random).
//
// Usage: node write.mjs --info pds.json --state state.json --out expected.json
//          --phase 1|2 [--accounts N] [--events N] [--bulk N] [--seed N]
//          [--pace MS]

import fs from 'node:fs'
import { AtpAgent } from '@atproto/api'

const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'
const LOC = 'community.lexicon.location'

function die(msg) {
  console.error(`write.mjs: ${msg}`)
  process.exit(1)
}

function parseArgs(argv) {
  const a = { accounts: 3, events: 4, bulk: 0, seed: 1, pace: 0 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = argv[i + 1]
    if (!k.startsWith('--') || v === undefined) die(`bad argument ${k}`)
    a[k.slice(2)] = v
    i++
  }
  for (const k of ['info', 'state', 'out', 'phase'])
    if (!a[k]) die(`--${k} is required`)
  for (const k of ['accounts', 'events', 'bulk', 'seed', 'phase', 'pace']) {
    a[k] = Number(a[k])
    if (!Number.isInteger(a[k]) || a[k] < 0) die(`bad --${k}`)
  }
  if (a.accounts < 2) die('--accounts must be at least 2')
  if (a.bulk > 200) die('--bulk is at most 200 (one applyWrites call)')
  return a
}

// mulberry32: small deterministic PRNG.
function prng(seed) {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  }
}

// Record keys are TIDs: 53 bits of microseconds and 10 bits of clock id,
// base32-sortable, 13 characters; strictly increasing within this process.
const B32 = '234567abcdefghijklmnopqrstuvwxyz'
let lastUs = 0n
function tid() {
  let us = BigInt(Date.now()) * 1000n
  if (us <= lastUs) us = lastUs + 1n
  lastUs = us
  let v = (us << 10n) | 7n
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = B32[Number(v & 31n)] + s
    v >>= 5n
  }
  return s
}

const LOCATIONS = {
  address: {
    $type: `${LOC}.address`,
    country: 'DE',
    postalCode: '10178',
    region: 'Berlin',
    locality: 'Berlin',
    street: 'Schloßplatz 1',
    name: 'Humboldt Forum',
  },
  addressMin: { $type: `${LOC}.address`, country: 'NZ' },
  geo: {
    $type: `${LOC}.geo`,
    latitude: '52.5186',
    longitude: '13.4081',
    altitude: '34.5',
    name: 'Lustgarten',
  },
  geoZero: { $type: `${LOC}.geo`, latitude: '0', longitude: '0' },
  fsq: {
    $type: `${LOC}.fsq`,
    fsq_place_id: '4b0588f1f964a52079c525e3',
    latitude: '40.7484',
    longitude: '-73.9857',
    name: 'Empire State Building',
  },
  hthree: { $type: `${LOC}.hthree`, value: '8928308280fffff', name: 'Cell 1' },
  uri: {
    $type: `${EVENT}#uri`,
    uri: 'https://meet.example.org/atcal-standup',
    name: 'Video call',
  },
}

const LOCATION_SETS = [
  [],
  [LOCATIONS.address],
  [LOCATIONS.geo],
  [LOCATIONS.geoZero],
  [LOCATIONS.fsq],
  [LOCATIONS.hthree],
  [LOCATIONS.uri],
  [LOCATIONS.uri, LOCATIONS.address, LOCATIONS.geo, LOCATIONS.fsq,
    LOCATIONS.hthree, LOCATIONS.addressMin],
]
const MODES = [undefined, 'inperson', 'virtual', 'hybrid']
const STATUSES = [undefined, 'scheduled', 'planned', 'cancelled', 'postponed',
  'rescheduled']
const NAMES = ['Rust meetup', 'Café "Stammtisch" ☕', 'Open-source sprint',
  'Lecture: AT Protocol & you', 'Board games night 🎲', 'Città walk',
  'Yoga in the park', 'Hackathon\tfinal']

function eventRecord(rng, i, tag) {
  const start = new Date(Date.UTC(2026, rng.int(0, 11), rng.int(1, 28),
    rng.int(7, 21), rng.pick([0, 15, 30, 45])))
  const rec = {
    $type: EVENT,
    name: `${NAMES[i % NAMES.length]} #${tag}`,
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString(),
  }
  if (i % 5 !== 2)
    rec.description = `Event ${tag}.\nLine two with "quotes", \\ and ünïcödé.`
  // Some events have no start: the API then uses createdAt.
  if (i % 7 !== 3) rec.startsAt = start.toISOString()
  if (i % 2 === 0)
    rec.endsAt = new Date(start.getTime() + rng.int(1, 6) * 3600e3)
      .toISOString()
  const mode = MODES[i % MODES.length]
  if (mode) rec.mode = `${EVENT}#${mode}`
  const status = STATUSES[i % STATUSES.length]
  if (status) rec.status = `${EVENT}#${status}`
  const locs = LOCATION_SETS[i % LOCATION_SETS.length]
  if (locs.length > 0 || i % 3 === 0) rec.locations = locs
  if (i % 4 === 1)
    rec.uris = [{ uri: `https://tickets.example.org/e/${tag}`, name: 'Tickets' }]
  return rec
}

function rsvpRecord(ev, status, i) {
  const rec = {
    $type: RSVP,
    subject: { uri: ev.uri, cid: ev.cid },
    createdAt: new Date(Date.UTC(2026, 1, 1) + i * 1000).toISOString(),
  }
  // Absent status means going (the lexicon default).
  if (status) rec.status = `${RSVP}#${status}`
  return rec
}

class Writer {
  constructor(args, info, model) {
    this.args = args
    this.info = info
    this.m = model
    this.rng = prng(args.seed * 1000 + args.phase)
    this.agents = new Map()
    this.nops = 0
  }

  // Logs progress after every write; --pace (ms) spaces writes out so a
  // test can act while a phase is still writing.
  async progress(n = 1) {
    this.nops += n
    this.m.ops += n
    console.error(`write.mjs: progress phase=${this.args.phase} ` +
      `ops=${this.nops} total=${this.m.ops}`)
    if (this.args.pace > 0)
      await new Promise((res) => setTimeout(res, this.args.pace))
  }

  async agent(acct) {
    let a = this.agents.get(acct.did)
    if (!a) {
      a = new AtpAgent({ service: this.info.pdsUrl })
      await a.login({ identifier: acct.handle, password: acct.password })
      this.agents.set(acct.did, a)
    }
    return a
  }

  async createAccounts(n) {
    for (let k = 0; k < n; k++) {
      const name = `u${this.args.seed}x${this.m.accounts.length}`
      const acct = {
        handle: `${name}.test`,
        email: `${name}@atcal.invalid`,
        password: `pw-${name}-${this.rng.int(1e6, 9e6)}`,
      }
      const a = new AtpAgent({ service: this.info.pdsUrl })
      const res = await a.createAccount(acct)
      acct.did = res.data.did
      this.agents.set(acct.did, a)
      this.m.accounts.push(acct)
      await this.progress()
    }
  }

  remember(kind, uri, did, collection, rkey, cid, record) {
    this.m[kind][uri] = { uri, did, collection, rkey, cid, record,
      deleted: false }
    return this.m[kind][uri]
  }

  async createEvent(acct, rkey) {
    const i = this.m.nextIndex++
    const record = eventRecord(this.rng, i, `${this.args.phase}.${i}`)
    const a = await this.agent(acct)
    const res = rkey
      ? await a.com.atproto.repo.putRecord({ repo: acct.did,
        collection: EVENT, rkey, record, validate: false })
      : await a.com.atproto.repo.createRecord({ repo: acct.did,
        collection: EVENT, record, validate: false })
    await this.progress()
    const key = res.data.uri.split('/').pop()
    return this.remember('events', res.data.uri, acct.did, EVENT, key,
      res.data.cid, record)
  }

  async updateEvent(ev, change) {
    const acct = this.account(ev.did)
    const record = { ...ev.record, ...change }
    for (const [k, v] of Object.entries(change))
      if (v === undefined) delete record[k]
    const res = await (await this.agent(acct)).com.atproto.repo.putRecord({
      repo: ev.did, collection: EVENT, rkey: ev.rkey, record,
      validate: false })
    await this.progress()
    ev.record = record
    ev.cid = res.data.cid
  }

  async deleteRecord(kind, r) {
    const acct = this.account(r.did)
    await (await this.agent(acct)).com.atproto.repo.deleteRecord({
      repo: r.did, collection: r.collection, rkey: r.rkey })
    await this.progress()
    r.deleted = true
  }

  async rsvp(acct, ev, status) {
    const i = this.m.nextIndex++
    const record = rsvpRecord(ev, status, i)
    const res = await (await this.agent(acct)).com.atproto.repo.createRecord({
      repo: acct.did, collection: RSVP, record, validate: false })
    await this.progress()
    const key = res.data.uri.split('/').pop()
    return this.remember('rsvps', res.data.uri, acct.did, RSVP, key,
      res.data.cid, record)
  }

  async updateRsvp(r, status) {
    const acct = this.account(r.did)
    const record = { ...r.record }
    if (status) record.status = `${RSVP}#${status}`
    else delete record.status
    const res = await (await this.agent(acct)).com.atproto.repo.putRecord({
      repo: r.did, collection: RSVP, rkey: r.rkey, record, validate: false })
    await this.progress()
    r.record = record
    r.cid = res.data.cid
  }

  // One commit holding many ops. `ops` are {kind, record, rkey}; creates
  // only. The PDS applies them in order within one #commit frame.
  async applyCreates(acct, ops) {
    const writes = ops.map((op) => ({
      $type: 'com.atproto.repo.applyWrites#create',
      collection: op.kind === 'events' ? EVENT : RSVP,
      rkey: op.rkey,
      value: op.record,
    }))
    const res = await (await this.agent(acct)).com.atproto.repo.applyWrites({
      repo: acct.did, validate: false, writes })
    const results = res.data.results ?? []
    ops.forEach((op, k) => {
      const uri = results[k]?.uri ??
        `at://${acct.did}/${writes[k].collection}/${op.rkey}`
      this.remember(op.kind, uri, acct.did, writes[k].collection, op.rkey,
        results[k]?.cid ?? null, op.record)
    })
    await this.progress(ops.length)
  }

  account(did) {
    const a = this.m.accounts.find((x) => x.did === did)
    if (!a) die(`no account for ${did}`)
    return a
  }

  live(kind, pred = () => true) {
    return Object.values(this.m[kind]).filter((r) => !r.deleted && pred(r))
  }

  async bulk(acct, n) {
    if (n === 0) return
    const ops = []
    for (let k = 0; k < n; k++) {
      const i = this.m.nextIndex++
      ops.push({ kind: 'events', rkey: tid(),
        record: eventRecord(this.rng, i, `${this.args.phase}.bulk.${i}`) })
    }
    await this.applyCreates(acct, ops)
  }

  // Phase 1: accounts, events of every shape, RSVPs across accounts, an
  // applyWrites batch, updates and deletes.
  async phase1() {
    const { accounts, events, bulk } = this.args
    await this.createAccounts(accounts)
    const accts = this.m.accounts
    for (const acct of accts)
      for (let k = 0; k < events; k++) await this.createEvent(acct)
    await this.bulk(accts[0], bulk)
    const evs = this.live('events', (e) => !e.record.name.includes('bulk'))
    const statuses = ['going', 'interested', 'notgoing', undefined]
    let n = 0
    for (const acct of accts)
      for (const ev of evs.filter((e) => e.did !== acct.did).slice(0, 4))
        await this.rsvp(acct, ev, statuses[n++ % statuses.length])
    await this.updateEvent(evs[0], { name: `${evs[0].record.name} (moved)`,
      status: `${EVENT}#rescheduled`, locations: [LOCATIONS.geoZero] })
    await this.updateEvent(evs[1], { description: undefined,
      mode: `${EVENT}#virtual`, locations: [LOCATIONS.uri] })
    await this.deleteRecord('events', evs[2])
    const rs = this.live('rsvps')
    await this.deleteRecord('rsvps', rs[0])
    await this.updateRsvp(rs[1], 'notgoing')
  }

  // Phase 2: more of everything, touching phase-1 records; an RSVP that
  // precedes its event inside one commit; a delete followed by a re-create
  // under the same rkey (newer rev must win over the tombstone).
  async phase2() {
    const { events, bulk } = this.args
    const accts = this.m.accounts
    for (const acct of accts)
      for (let k = 0; k < Math.max(1, events / 2); k++)
        await this.createEvent(acct)
    await this.bulk(accts[1], bulk)
    const old = this.live('events', (e) => !e.record.name.includes('bulk'))
    await this.updateEvent(old[3], { status: `${EVENT}#cancelled`,
      endsAt: undefined })
    await this.deleteRecord('events', old[4])
    const reborn = old[5]
    await this.deleteRecord('events', reborn)
    await this.createEvent(this.account(reborn.did), reborn.rkey)
    const rs = this.live('rsvps')
    await this.updateRsvp(rs[2], 'interested')
    await this.updateRsvp(rs[3], undefined)
    await this.deleteRecord('rsvps', rs[4])
    // RSVP first, its event second, one commit: the processor sees an RSVP
    // whose event is not known yet and must retry it.
    const host = accts[accts.length - 1]
    const guest = accts[0]
    const ekey = tid()
    const i = this.m.nextIndex++
    const erec = eventRecord(this.rng, i, `2.late.${i}`)
    const euri = `at://${host.did}/${EVENT}/${ekey}`
    const ref = old[0]
    const rrec = rsvpRecord({ uri: euri, cid: ref.cid }, 'going', i)
    await this.applyCreates(guest, [{ kind: 'rsvps', rkey: tid(),
      record: rrec }])
    await this.applyCreates(host, [{ kind: 'events', rkey: ekey,
      record: erec }])
    const late = this.m.events[euri]
    if (!late) die('late event not recorded')
    for (const acct of accts.slice(1))
      await this.rsvp(acct, late, acct === host ? 'going' : 'interested')
  }
}

function expected(m) {
  const out = { events: {}, rsvps: {}, deleted: [] }
  for (const e of Object.values(m.events)) {
    if (e.deleted) {
      out.deleted.push(e.uri)
      continue
    }
    const r = e.record
    out.events[e.uri] = {
      did: e.did,
      collection: e.collection,
      name: r.name,
      description: r.description ?? null,
      startsAt: r.startsAt ?? null,
      endsAt: r.endsAt ?? null,
      createdAt: r.createdAt,
      mode: r.mode ?? null,
      status: r.status ?? null,
      locations: r.locations ?? [],
    }
  }
  for (const x of Object.values(m.rsvps)) {
    if (x.deleted) {
      out.deleted.push(x.uri)
      continue
    }
    const s = x.record.status
    out.rsvps[x.uri] = {
      did: x.did,
      eventUri: x.record.subject.uri,
      status: s ? s.slice(s.indexOf('#') + 1) : 'going',
    }
  }
  return out
}

function writeJson(file, v) {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(v, null, 2) + '\n')
  fs.renameSync(`${file}.tmp`, file)
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const info = JSON.parse(fs.readFileSync(args.info, 'utf8'))
  let model = { accounts: [], events: {}, rsvps: {}, nextIndex: 0, ops: 0 }
  if (args.phase > 1) model = JSON.parse(fs.readFileSync(args.state, 'utf8'))
  const w = new Writer(args, info, model)
  try {
    if (args.phase === 1) await w.phase1()
    else if (args.phase === 2) await w.phase2()
    else die(`unknown phase ${args.phase}`)
  } finally {
    writeJson(args.state, model)
    writeJson(args.out, expected(model))
  }
  const ex = expected(model)
  console.error(`write.mjs: done phase=${args.phase} ops=${w.nops} ` +
    `events=${Object.keys(ex.events).length} ` +
    `rsvps=${Object.keys(ex.rsvps).length} deleted=${ex.deleted.length}`)
}

main().catch((err) => die(err?.stack || String(err)))
