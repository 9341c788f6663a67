// SPDX-License-Identifier: ISC
//
// Compares the integration API's view (GET /api/events/by-source) with the
// expected final state written by write.mjs, using the processor mapping of
// the system contract: every live event equal field by field (dates as
// instants, locations deep-equal), every deleted event 404, every live RSVP
// of a live event present among its attendees with the right status, no
// deleted RSVP present. With --wait it polls (1 s apart) until everything
// matches or the deadline passes, then reports what still differs.
//
// Usage: node expect.mjs --expected exp.json [--api URL] [--key KEY]
//          [--tenant T] [--wait SECS] [--summary out.json]
// Exit 0 iff everything matches.

import fs from 'node:fs'

const EVENT_NS = 'community.lexicon.calendar.event'
const MODE = { virtual: 'online', hybrid: 'hybrid' }
const STATUS = { cancelled: 'cancelled', planned: 'draft' }
const ATTENDEE = { going: 'confirmed', interested: 'maybe',
  notgoing: 'cancelled' }
const MAX_REPORT = 25
const CONCURRENCY = 8

function die(msg) {
  console.error(`expect.mjs: ${msg}`)
  process.exit(2)
}

function parseArgs(argv) {
  const a = {
    api: process.env.API_URL || 'http://127.0.0.1:8080',
    key: process.env.API_KEY || '',
    tenant: process.env.TENANT_ID || 'default',
    wait: 0,
  }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    if (!k.startsWith('--') || argv[i + 1] === undefined)
      die(`bad argument ${k}`)
    a[k.slice(2)] = argv[i + 1]
  }
  if (!a.expected) die('--expected is required')
  a.wait = Number(a.wait)
  if (!(a.wait >= 0)) die('bad --wait')
  return a
}

function lexToken(v) {
  return typeof v === 'string' && v.includes('#')
    ? v.slice(v.indexOf('#') + 1) : null
}

// Deep equality with object key order ignored (jsonb reorders keys).
function same(a, b) {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a))
    return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (typeof a !== 'object') return false
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return same(ka, kb) && ka.every((k) => same(a[k], b[k]))
}

function sameInstant(want, got) {
  if (want === null) return got === null || got === undefined
  if (typeof got !== 'string') return false
  return Date.parse(want) === Date.parse(got)
}

function eventProblems(uri, e, got) {
  const p = []
  const want = {
    name: e.name,
    description: e.description,
    startDate: e.startsAt ?? e.createdAt,
    endDate: e.endsAt,
    type: MODE[lexToken(e.mode)] ?? 'in-person',
    status: STATUS[lexToken(e.status)] ?? 'published',
  }
  const diff = (field, ok) => {
    if (!ok)
      p.push(`${uri}: ${field}: want ${JSON.stringify(want[field])} ` +
        `got ${JSON.stringify(got[field])}`)
  }
  diff('name', got.name === want.name)
  diff('description', (got.description ?? null) === want.description ||
    (want.description === null && got.description === ''))
  diff('startDate', sameInstant(want.startDate, got.startDate))
  diff('endDate', sameInstant(want.endDate, got.endDate ?? null))
  diff('type', got.type === want.type)
  diff('status', got.status === want.status)
  if (!same(e.locations, got.locations ?? []))
    p.push(`${uri}: locations: want ${JSON.stringify(e.locations)} ` +
      `got ${JSON.stringify(got.locations)}`)
  if (got.source?.type !== 'bluesky' || got.source?.id !== uri)
    p.push(`${uri}: source: got ${JSON.stringify(got.source)}`)
  if (got.creator?.did !== e.did)
    p.push(`${uri}: creator.did: want ${e.did} ` +
      `got ${JSON.stringify(got.creator?.did)}`)
  return p
}

async function fetchEvent(a, uri) {
  const u = new URL('/api/events/by-source', a.api)
  u.searchParams.set('sourceType', 'bluesky')
  u.searchParams.set('sourceId', uri)
  try {
    const res = await fetch(u, {
      headers: { authorization: `Bearer ${a.key}`, 'x-tenant-id': a.tenant },
    })
    const text = await res.text()
    let body = null
    try {
      body = JSON.parse(text)
    } catch {
      body = null
    }
    return { status: res.status, body, text }
  } catch (err) {
    return { status: 0, body: null, text: String(err.cause ?? err) }
  }
}

async function pool(items, fn) {
  const out = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return out
}

async function check(a, exp) {
  const r = {
    events: { ok: 0, bad: 0 },
    deletedEvents: { ok: 0, bad: 0 },
    rsvps: { ok: 0, bad: 0 },
    deletedRsvps: { ok: 0, bad: 0 },
    problems: [],
  }
  const tally = (cat, problems) => {
    if (problems.length === 0) r[cat].ok++
    else {
      r[cat].bad++
      r.problems.push(...problems)
    }
  }
  const live = Object.keys(exp.events)
  const got = new Map()
  const answers = await pool(live, (uri) => fetchEvent(a, uri))
  live.forEach((uri, i) => {
    const res = answers[i]
    if (res.status !== 200 || res.body === null) {
      tally('events', [`${uri}: GET answered ${res.status} ` +
        `${res.text.slice(0, 200)}`])
      return
    }
    got.set(uri, res.body)
    tally('events', eventProblems(uri, exp.events[uri], res.body))
  })
  const deletedEvents = exp.deleted.filter((u) => u.includes(`/${EVENT_NS}/`))
  const gone = await pool(deletedEvents, (uri) => fetchEvent(a, uri))
  deletedEvents.forEach((uri, i) => {
    tally('deletedEvents', gone[i].status === 404 ? []
      : [`${uri}: deleted event answered ${gone[i].status}, want 404`])
  })
  const attendees = new Map()
  for (const ev of got.values())
    for (const at of ev.attendees ?? []) attendees.set(at.sourceId, at)
  for (const [uri, x] of Object.entries(exp.rsvps)) {
    if (!exp.events[x.eventUri]) continue // its event is gone
    if (!got.has(x.eventUri)) {
      tally('rsvps', [`${uri}: event ${x.eventUri} not available`])
      continue
    }
    const at = (got.get(x.eventUri).attendees ?? [])
      .find((t) => t.sourceId === uri)
    const p = []
    if (!at) p.push(`${uri}: missing from attendees of ${x.eventUri}`)
    else {
      if (at.status !== x.status)
        p.push(`${uri}: status: want ${x.status} got ${at.status}`)
      if (at.attendeeStatus !== ATTENDEE[x.status])
        p.push(`${uri}: attendeeStatus: want ${ATTENDEE[x.status]} ` +
          `got ${at.attendeeStatus}`)
      if (at.did !== x.did)
        p.push(`${uri}: did: want ${x.did} got ${at.did}`)
    }
    tally('rsvps', p)
  }
  for (const uri of exp.deleted.filter((u) => !deletedEvents.includes(u)))
    tally('deletedRsvps', attendees.has(uri)
      ? [`${uri}: deleted RSVP still listed as attendee`] : [])
  return r
}

function bad(r) {
  return r.events.bad + r.deletedEvents.bad + r.rsvps.bad +
    r.deletedRsvps.bad
}

async function main() {
  const a = parseArgs(process.argv.slice(2))
  const exp = JSON.parse(fs.readFileSync(a.expected, 'utf8'))
  const deadline = Date.now() + a.wait * 1000
  let r
  for (;;) {
    r = await check(a, exp)
    if (bad(r) === 0 || Date.now() >= deadline) break
    await new Promise((res) => setTimeout(res, 1000))
  }
  for (const p of r.problems.slice(0, MAX_REPORT))
    console.error(`expect.mjs: ${p}`)
  if (r.problems.length > MAX_REPORT)
    console.error(`expect.mjs: ... ${r.problems.length - MAX_REPORT} more`)
  for (const cat of ['events', 'deletedEvents', 'rsvps', 'deletedRsvps'])
    console.error(`expect.mjs: ${cat} ok=${r[cat].ok} bad=${r[cat].bad}`)
  if (a.summary) {
    const { problems, ...counts } = r
    fs.writeFileSync(a.summary, JSON.stringify(counts) + '\n')
  }
  process.exit(bad(r) === 0 ? 0 : 1)
}

main().catch((err) => die(err?.stack || String(err)))
