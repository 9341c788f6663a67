// SPDX-License-Identifier: ISC
//
// The fault suite's continuous writer: creates accounts on the reference
// PDS, then writes a stream of calendar operations (event creates, updates,
// deletes and re-creates under a deleted rkey; RSVP creates, updates and
// deletes) through @atproto/api until --ops operations are done. Accounts
// are split between --concurrency workers, so writes to one repository stay
// in order while repositories advance in parallel. The PDS, not this
// process, is the truth the suite compares with (compare.mjs lists every
// repository); this writer only records the accounts (as soon as they
// exist) and every at-uri it ever wrote, so records deleted in the end can
// be checked too. Progress goes to stderr as "writer: progress ops=N".
//
// Usage: node writer.mjs --info pds.json --out written.json [--ops 3000]
//          [--accounts 30] [--concurrency 6] [--seed 1] [--rate OPS_PER_S]

import fs from 'node:fs'
import { createRequire } from 'node:module'

// @atproto/api lives in the interop harness's node_modules.
const require = createRequire(new URL('../interop/package.json',
  import.meta.url))
const { AtpAgent } = require('@atproto/api')

const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'
const RSVP_STATUSES = [undefined, 'going', 'interested', 'notgoing']
const MODES = [undefined, 'inperson', 'virtual', 'hybrid']
const STATUSES = [undefined, 'scheduled', 'planned', 'cancelled']
const WRITE_TRIES = 5

function die(msg) {
  console.error(`writer: ${msg}`)
  process.exit(2)
}

function parseArgs(argv) {
  const a = { ops: 3000, accounts: 30, concurrency: 6, seed: 1, rate: 0 }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    if (!k.startsWith('--') || argv[i + 1] === undefined)
      die(`bad argument ${k}`)
    a[k.slice(2)] = argv[i + 1]
  }
  if (!a.info || !a.out) die('--info and --out are required')
  for (const k of ['ops', 'accounts', 'concurrency', 'seed', 'rate']) {
    a[k] = Number(a[k])
    if (!Number.isInteger(a[k]) || a[k] < 0) die(`bad --${k}`)
  }
  if (a.accounts < 2) die('--accounts must be at least 2')
  if (a.concurrency < 1 || a.concurrency > a.accounts)
    die('--concurrency must be 1..accounts')
  return a
}

// mulberry32: small deterministic PRNG (the interleaving of workers still
// varies from run to run; the choices of each worker do not).
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
    chance: (p) => next() < p,
  }
}

function writeJson(file, v) {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(v, null, 1) + '\n')
  fs.renameSync(`${file}.tmp`, file)
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms))

class Writer {
  constructor(args, info) {
    this.a = args
    this.info = info
    this.accounts = []
    this.done = 0
    this.failed = 0
    this.counts = {}
    this.touched = new Set()
    this.liveEvents = new Map()	// uri -> {uri, did, rkey, record}
    this.deadEvents = new Map()	// uri -> {did, rkey}
    this.rsvps = new Map()	// uri -> {uri, did, rkey, eventUri, record}
    this.seq = 0
    this.startMs = Date.now()
  }

  // Runs one XRPC call, retrying transport errors with backoff. The PDS
  // is not a fault target, so a write that still fails is counted and
  // reported, never hidden.
  async call(what, fn) {
    for (let k = 1; ; k++) {
      try {
        return await fn()
      } catch (err) {
        const status = err?.status ?? 0
        if (k >= WRITE_TRIES || (status >= 400 && status < 500)) {
          this.failed++
          console.error(`writer: write_failed op=${what} ` +
            `status=${status} cause=${JSON.stringify(String(err))}`)
          return null
        }
        await sleep(100 * 2 ** k)
      }
    }
  }

  async createAccounts() {
    for (let k = 0; k < this.a.accounts; k++) {
      const name = `f${this.a.seed}a${k}`
      const acct = {
        handle: `${name}.test`,
        email: `${name}@atcal.invalid`,
        password: `pw-${name}-${this.a.seed}`,
      }
      const agent = new AtpAgent({ service: this.info.pdsUrl })
      const res = await agent.createAccount(acct)
      acct.did = res.data.did
      acct.agent = agent
      acct.index = k
      acct.rng = prng(this.a.seed * 7919 + k)
      this.accounts.push(acct)
    }
    this.save(false)
    console.error(`writer: accounts=${this.accounts.length}`)
  }

  eventRecord(acct, version) {
    const n = ++this.seq
    const r = acct.rng
    const start = new Date(Date.UTC(2026, r.int(0, 11), r.int(1, 28),
      r.int(7, 21), r.pick([0, 15, 30, 45])))
    const rec = {
      $type: EVENT,
      name: `Fault event ${acct.index}.${n} v${version} ☕`,
      createdAt: new Date().toISOString(),
      startsAt: start.toISOString(),
    }
    if (r.chance(0.7)) rec.description = `Written by ${acct.handle}, #${n}.`
    if (r.chance(0.5))
      rec.endsAt = new Date(start.getTime() + 3600e3).toISOString()
    const mode = r.pick(MODES)
    if (mode) rec.mode = `${EVENT}#${mode}`
    const status = r.pick(STATUSES)
    if (status) rec.status = `${EVENT}#${status}`
    if (r.chance(0.3))
      rec.locations = [{ $type: 'community.lexicon.location.geo',
        latitude: '52.5186', longitude: '13.4081', name: `Spot ${n}` }]
    return rec
  }

  rsvpRecord(acct, ev, status) {
    const rec = {
      $type: RSVP,
      subject: { uri: ev.uri, cid: ev.cid },
      createdAt: new Date().toISOString(),
    }
    if (status) rec.status = `${RSVP}#${status}`
    return rec
  }

  count(kind) {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1
  }

  async createEvent(acct) {
    const record = this.eventRecord(acct, 1)
    const res = await this.call('create_event', () =>
      acct.agent.com.atproto.repo.createRecord({ repo: acct.did,
        collection: EVENT, record, validate: false }))
    if (!res) return
    const rkey = res.data.uri.split('/').pop()
    this.liveEvents.set(res.data.uri, { uri: res.data.uri, did: acct.did,
      rkey, cid: res.data.cid, record, version: 1 })
    this.touched.add(res.data.uri)
    this.count('event_create')
  }

  async updateEvent(acct, ev) {
    const record = this.eventRecord(acct, ev.version + 1)
    const res = await this.call('update_event', () =>
      acct.agent.com.atproto.repo.putRecord({ repo: acct.did,
        collection: EVENT, rkey: ev.rkey, record, validate: false }))
    if (!res) return
    ev.record = record
    ev.cid = res.data.cid
    ev.version++
    this.count('event_update')
  }

  async deleteEvent(acct, ev) {
    const res = await this.call('delete_event', () =>
      acct.agent.com.atproto.repo.deleteRecord({ repo: acct.did,
        collection: EVENT, rkey: ev.rkey }))
    if (!res) return
    this.liveEvents.delete(ev.uri)
    this.deadEvents.set(ev.uri, ev)
    this.count('event_delete')
  }

  // A delete followed later by a create under the same rkey: the newer
  // rev must win over the tombstone.
  async recreateEvent(acct, ev) {
    const record = this.eventRecord(acct, ev.version + 1)
    const res = await this.call('recreate_event', () =>
      acct.agent.com.atproto.repo.putRecord({ repo: acct.did,
        collection: EVENT, rkey: ev.rkey, record, validate: false }))
    if (!res) return
    this.deadEvents.delete(ev.uri)
    this.liveEvents.set(ev.uri, { ...ev, record, cid: res.data.cid,
      version: ev.version + 1 })
    this.count('event_recreate')
  }

  async createRsvp(acct, ev) {
    const record = this.rsvpRecord(acct, ev, acct.rng.pick(RSVP_STATUSES))
    const res = await this.call('create_rsvp', () =>
      acct.agent.com.atproto.repo.createRecord({ repo: acct.did,
        collection: RSVP, record, validate: false }))
    if (!res) return
    const rkey = res.data.uri.split('/').pop()
    this.rsvps.set(res.data.uri, { uri: res.data.uri, did: acct.did, rkey,
      eventUri: ev.uri, record })
    this.touched.add(res.data.uri)
    this.count('rsvp_create')
  }

  async updateRsvp(acct, rs) {
    const cur = rs.record.status
    const next = acct.rng.pick(RSVP_STATUSES.filter((s) =>
      (s ? `${RSVP}#${s}` : undefined) !== cur))
    const record = { ...rs.record }
    if (next) record.status = `${RSVP}#${next}`
    else delete record.status
    const res = await this.call('update_rsvp', () =>
      acct.agent.com.atproto.repo.putRecord({ repo: acct.did,
        collection: RSVP, rkey: rs.rkey, record, validate: false }))
    if (!res) return
    rs.record = record
    this.count('rsvp_update')
  }

  async deleteRsvp(acct, rs) {
    const res = await this.call('delete_rsvp', () =>
      acct.agent.com.atproto.repo.deleteRecord({ repo: acct.did,
        collection: RSVP, rkey: rs.rkey }))
    if (!res) return
    this.rsvps.delete(rs.uri)
    this.count('rsvp_delete')
  }

  // One operation for acct, chosen by weight among those possible now.
  async step(acct) {
    const r = acct.rng
    const mine = [...this.liveEvents.values()].filter((e) =>
      e.did === acct.did)
    const dead = [...this.deadEvents.values()].filter((e) =>
      e.did === acct.did)
    const myRsvps = [...this.rsvps.values()].filter((x) =>
      x.did === acct.did)
    const attending = new Set(myRsvps.map((x) => x.eventUri))
    const targets = [...this.liveEvents.values()].filter((e) =>
      e.did !== acct.did && !attending.has(e.uri))
    const choices = [['create', 30]]
    if (mine.length > 0) choices.push(['update', 18], ['delete', 7])
    if (dead.length > 0) choices.push(['recreate', 3])
    if (targets.length > 0) choices.push(['rsvp', 25])
    if (myRsvps.length > 0) choices.push(['rsvp_update', 12],
      ['rsvp_delete', 5])
    let x = r.int(0, choices.reduce((s, c) => s + c[1], 0) - 1)
    let op = choices[0][0]
    for (const [name, w] of choices) {
      if (x < w) {
        op = name
        break
      }
      x -= w
    }
    switch (op) {
    case 'create': return this.createEvent(acct)
    case 'update': return this.updateEvent(acct, r.pick(mine))
    case 'delete': return this.deleteEvent(acct, r.pick(mine))
    case 'recreate': return this.recreateEvent(acct, r.pick(dead))
    case 'rsvp': return this.createRsvp(acct, r.pick(targets))
    case 'rsvp_update': return this.updateRsvp(acct, r.pick(myRsvps))
    default: return this.deleteRsvp(acct, r.pick(myRsvps))
    }
  }

  async worker(w) {
    const mine = this.accounts.filter((x) =>
      x.index % this.a.concurrency === w)
    const rng = prng(this.a.seed * 104729 + w)
    while (this.done < this.a.ops) {
      const n = ++this.done
      await this.step(rng.pick(mine))
      if (n % 10 === 0 || n === this.a.ops)
        console.error(`writer: progress ops=${n} of ${this.a.ops}`)
      if (this.a.rate > 0) {
        // Paced: the n-th op is not due before n / rate seconds.
        const due = this.startMs + (n * 1000) / this.a.rate
        if (due > Date.now()) await sleep(due - Date.now())
      }
    }
  }

  save(final) {
    writeJson(this.a.out, {
      final,
      accounts: this.accounts.map((x) => ({ did: x.did, handle: x.handle })),
      ops: this.done,
      failed: this.failed,
      counts: this.counts,
      touched: [...this.touched],
    })
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const info = JSON.parse(fs.readFileSync(args.info, 'utf8'))
  const w = new Writer(args, info)
  await w.createAccounts()
  w.startMs = Date.now()
  await Promise.all(Array.from({ length: args.concurrency }, (_, k) =>
    w.worker(k)))
  w.save(true)
  const secs = (Date.now() - w.startMs) / 1000
  console.error(`writer: done ops=${w.done} failed=${w.failed} ` +
    `secs=${secs.toFixed(1)} rate=${(w.done / secs).toFixed(1)}/s ` +
    `counts=${JSON.stringify(w.counts)}`)
  process.exit(w.failed === 0 ? 0 : 1)
}

main().catch((err) => die(err?.stack || String(err)))
