// SPDX-License-Identifier: ISC
//
// Writer for the backfill tests, against one reference PDS.
//   --mode seed: creates --accounts accounts, --per calendar records each
//     (events in applyWrites batches, then RSVPs to other accounts' events,
//     one batch per account), all BEFORE the backfill starts;
//   --mode churn: --ops paced writes over existing records while the
//     backfill runs: updates, deletes (events and RSVPs), new events, RSVP
//     status changes.
//   --mode bystanders: --accounts accounts holding no calendar record
//     (every other one holds a record of an unrelated collection); their
//     DIDs are listed in the state's "bystanders".
// The model is kept in --state; after each mode the expected final state is
// written to --out in expect.mjs's format ({events, rsvps, deleted}).
// Deterministic for a given --seed.
//
// Usage: node backfill_write.mjs --info pds.json --state s.json --out e.json
//          --mode seed|churn|bystanders [--accounts N] [--per N] [--ops N]
//          [--pace MS]
//          [--seed N] [--tag T]

import fs from 'node:fs'
import { AtpAgent } from '@atproto/api'

const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'
const NOTE = 'app.atcal.test.note'
const RSVPS_PER_ACCOUNT = 10

function die(msg) {
  console.error(`backfill_write.mjs: ${msg}`)
  process.exit(1)
}

function parseArgs(argv) {
  const a = { accounts: 2, per: 10, ops: 20, pace: 0, seed: 1, tag: 'a' }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    if (!k.startsWith('--') || argv[i + 1] === undefined)
      die(`bad argument ${k}`)
    a[k.slice(2)] = argv[i + 1]
  }
  for (const k of ['info', 'state', 'out', 'mode'])
    if (!a[k]) die(`--${k} is required`)
  for (const k of ['accounts', 'per', 'ops', 'pace', 'seed']) {
    a[k] = Number(a[k])
    if (!Number.isInteger(a[k]) || a[k] < 0) die(`bad --${k}`)
  }
  if (a.mode === 'seed' && a.per <= RSVPS_PER_ACCOUNT) die(`--per must exceed ${RSVPS_PER_ACCOUNT}`)
  return a
}

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

const B32 = '234567abcdefghijklmnopqrstuvwxyz'
let lastUs = 0n
function tid() {
  let us = BigInt(Date.now()) * 1000n
  if (us <= lastUs) us = lastUs + 1n
  lastUs = us
  let v = (us << 10n) | 5n
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = B32[Number(v & 31n)] + s
    v >>= 5n
  }
  return s
}

function eventRecord(rng, i, tag) {
  const start = new Date(Date.UTC(2026, rng.int(0, 11), rng.int(1, 28),
    rng.int(7, 21), rng.pick([0, 30])))
  const rec = {
    $type: EVENT,
    name: `Backfill event ${tag}.${i}`,
    createdAt: new Date(Date.UTC(2025, 0, 1) + i * 60000).toISOString(),
    startsAt: start.toISOString(),
  }
  if (i % 3 === 0) rec.description = `Seeded ${tag} #${i}`
  if (i % 4 === 1) rec.mode = `${EVENT}#virtual`
  return rec
}

class Writer {
  constructor(args, info, model) {
    this.a = args
    this.info = info
    this.m = model
    this.rng = prng(args.seed * 7919 + (args.mode === 'seed' ? 1 : 2))
    this.agents = new Map()
  }

  async agent(acct) {
    let ag = this.agents.get(acct.did)
    if (!ag) {
      ag = new AtpAgent({ service: this.info.pdsUrl })
      await ag.login({ identifier: acct.handle, password: acct.password })
      this.agents.set(acct.did, ag)
    }
    return ag
  }

  remember(kind, uri, did, collection, rkey, cid, record) {
    this.m[kind][uri] = { uri, did, collection, rkey, cid, record,
      deleted: false }
    return this.m[kind][uri]
  }

  async applyCreates(acct, items) {
    const writes = items.map((it) => ({
      $type: 'com.atproto.repo.applyWrites#create',
      collection: it.collection, rkey: it.rkey, value: it.record }))
    const res = await (await this.agent(acct)).com.atproto.repo.applyWrites({
      repo: acct.did, validate: false, writes })
    const results = res.data.results ?? []
    items.forEach((it, k) => {
      const kind = it.collection === EVENT ? 'events' : 'rsvps'
      this.remember(kind, `at://${acct.did}/${it.collection}/${it.rkey}`,
        acct.did, it.collection, it.rkey, results[k]?.cid ?? null,
        it.record)
    })
  }

  async seed() {
    const { accounts, per, tag } = this.a
    const nev = per - RSVPS_PER_ACCOUNT
    for (let k = 0; k < accounts; k++) {
      const name = `bf${tag}${this.a.seed}x${k}`
      const acct = { handle: `${name}.test`, email: `${name}@atcal.invalid`,
        password: `pw-${name}` }
      const ag = new AtpAgent({ service: this.info.pdsUrl })
      const res = await ag.createAccount(acct)
      acct.did = res.data.did
      this.agents.set(acct.did, ag)
      this.m.accounts.push(acct)
      for (let done = 0; done < nev; done += 100) {
        const items = []
        for (let j = done; j < Math.min(nev, done + 100); j++) {
          const i = this.m.next++
          items.push({ collection: EVENT, rkey: tid(),
            record: eventRecord(this.rng, i, tag) })
        }
        await this.applyCreates(acct, items)
      }
      console.error(`backfill_write.mjs: seeded ${acct.did} ${nev} events`)
    }
    const all = Object.values(this.m.events)
    for (const acct of this.m.accounts) {
      const others = all.filter((e) => e.did !== acct.did)
      const items = []
      for (let j = 0; j < RSVPS_PER_ACCOUNT; j++) {
        const ev = others[this.rng.int(0, others.length - 1)]
        items.push({ collection: RSVP, rkey: tid(), record: {
          $type: RSVP, subject: { uri: ev.uri, cid: ev.cid },
          status: `${RSVP}#${this.rng.pick(['going', 'interested',
            'notgoing'])}`,
          createdAt: new Date().toISOString() } })
      }
      await this.applyCreates(acct, items)
    }
  }

  live(kind) {
    return Object.values(this.m[kind]).filter((r) => !r.deleted)
  }

  account(did) {
    return this.m.accounts.find((x) => x.did === did)
  }

  async churnOne(n) {
    const op = n % 5
    const evs = this.live('events')
    if (op === 0 || op === 3) {
      const ev = evs[this.rng.int(0, evs.length - 1)]
      const record = { ...ev.record, name: `${ev.record.name} (upd ${n})` }
      const res = await (await this.agent(this.account(ev.did)))
        .com.atproto.repo.putRecord({ repo: ev.did, collection: EVENT,
          rkey: ev.rkey, record, validate: false })
      ev.record = record
      ev.cid = res.data.cid
      return 'update'
    }
    if (op === 1) {
      const ev = evs[this.rng.int(0, evs.length - 1)]
      await (await this.agent(this.account(ev.did)))
        .com.atproto.repo.deleteRecord({ repo: ev.did, collection: EVENT,
          rkey: ev.rkey })
      ev.deleted = true
      return 'delete'
    }
    if (op === 2) {
      const rs = this.live('rsvps')
      if (rs.length > 0) {
        const r = rs[this.rng.int(0, rs.length - 1)]
        await (await this.agent(this.account(r.did)))
          .com.atproto.repo.deleteRecord({ repo: r.did, collection: RSVP,
            rkey: r.rkey })
        r.deleted = true
        return 'delete-rsvp'
      }
    }
    const acct = this.m.accounts[this.rng.int(0, this.m.accounts.length - 1)]
    const i = this.m.next++
    await this.applyCreates(acct, [{ collection: EVENT, rkey: tid(),
      record: eventRecord(this.rng, i, `${this.a.tag}.live`) }])
    return 'create'
  }

  async bystanders() {
    this.m.bystanders ??= []
    for (let k = 0; k < this.a.accounts; k++) {
      const name = `by${this.a.tag}${this.a.seed}x${k}`
      const acct = { handle: `${name}.test`, email: `${name}@atcal.invalid`,
        password: `pw-${name}` }
      const ag = new AtpAgent({ service: this.info.pdsUrl })
      const res = await ag.createAccount(acct)
      if (k % 2 === 0)
        await ag.com.atproto.repo.createRecord({ repo: res.data.did,
          collection: NOTE, validate: false, record: { $type: NOTE,
            text: `not a calendar record ${k}`,
            createdAt: new Date().toISOString() } })
      this.m.bystanders.push(res.data.did)
    }
  }

  async churn() {
    for (let n = 0; n < this.a.ops; n++) {
      const what = await this.churnOne(n)
      console.error(`backfill_write.mjs: churn ops=${n + 1} op=${what}`)
      if (this.a.pace > 0)
        await new Promise((res) => setTimeout(res, this.a.pace))
    }
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
    out.events[e.uri] = { did: e.did, collection: e.collection,
      name: r.name, description: r.description ?? null,
      startsAt: r.startsAt ?? null, endsAt: r.endsAt ?? null,
      createdAt: r.createdAt, mode: r.mode ?? null, status: r.status ?? null,
      locations: r.locations ?? [] }
  }
  for (const x of Object.values(m.rsvps)) {
    if (x.deleted) {
      out.deleted.push(x.uri)
      continue
    }
    const s = x.record.status
    out.rsvps[x.uri] = { did: x.did, eventUri: x.record.subject.uri,
      status: s ? s.slice(s.indexOf('#') + 1) : 'going' }
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
  let model = { accounts: [], events: {}, rsvps: {}, next: 0 }
  if (args.mode !== 'seed')
    model = JSON.parse(fs.readFileSync(args.state, 'utf8'))
  const w = new Writer(args, info, model)
  try {
    if (args.mode === 'seed') await w.seed()
    else if (args.mode === 'churn') await w.churn()
    else if (args.mode === 'bystanders') await w.bystanders()
    else die(`unknown mode ${args.mode}`)
  } finally {
    writeJson(args.state, model)
    writeJson(args.out, expected(model))
  }
  const ex = expected(model)
  console.error(`backfill_write.mjs: done mode=${args.mode} ` +
    `events=${Object.keys(ex.events).length} ` +
    `rsvps=${Object.keys(ex.rsvps).length} deleted=${ex.deleted.length}`)
}

main().catch((err) => die(err?.stack || String(err)))
