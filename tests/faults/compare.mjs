// SPDX-License-Identifier: ISC
//
// The fault suite's verdict: the PDS's repositories are the truth. Every
// account's records are listed with com.atproto.repo.listRecords; then for
// every live event GET /api/events/by-source must answer 200 with the
// latest version (same name, same cid), its attendees must be exactly the
// live RSVPs that point at it (right status, each once), and every record
// the writer wrote that the PDS no longer has must be gone from the API.
// RSVPs whose event is deleted cannot be seen through the API; they are
// written to the truth files for the suite's database check.
// With --wait it polls (1 s apart) until nothing differs or the deadline.
// Prints one "figures" line and writes the summary as JSON.
//
// Usage: node compare.mjs --info pds.json --written written.json
//          --api URL --key KEY --tenant T [--wait SECS]
//          [--summary out.json] [--truth-dir DIR]
// Exit 0 iff missing, stale, extra and duplicated are all 0.

import fs from 'node:fs'
import path from 'node:path'

const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'
const CONCURRENCY = 8
const PAGE = 100
const MAX_REPORT = 20

function die(msg) {
  console.error(`compare: ${msg}`)
  process.exit(2)
}

function parseArgs(argv) {
  const a = { wait: 0, tenant: 'default' }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    if (!k.startsWith('--') || argv[i + 1] === undefined)
      die(`bad argument ${k}`)
    a[k.slice(2)] = argv[i + 1]
  }
  for (const k of ['info', 'written', 'api', 'key'])
    if (!a[k]) die(`--${k} is required`)
  a.wait = Number(a.wait)
  if (!(a.wait >= 0)) die('bad --wait')
  return a
}

async function getJson(url, headers = {}) {
  for (let k = 0; ; k++) {
    try {
      const res = await fetch(url, { headers })
      const text = await res.text()
      let body = null
      try {
        body = JSON.parse(text)
      } catch {
        body = null
      }
      return { status: res.status, body }
    } catch (err) {
      if (k >= 3) return { status: 0, body: null, error: String(err) }
      await new Promise((res) => setTimeout(res, 200))
    }
  }
}

async function pool(items, fn) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

// Every record of one collection in one repository, following cursors.
async function listAll(pdsUrl, did, collection) {
  const out = []
  let cursor
  for (;;) {
    const u = new URL('/xrpc/com.atproto.repo.listRecords', pdsUrl)
    u.searchParams.set('repo', did)
    u.searchParams.set('collection', collection)
    u.searchParams.set('limit', String(PAGE))
    if (cursor) u.searchParams.set('cursor', cursor)
    const r = await getJson(u)
    if (r.status !== 200 || !Array.isArray(r.body?.records))
      die(`listRecords ${did} ${collection}: status ${r.status}`)
    out.push(...r.body.records)
    cursor = r.body.cursor
    if (!cursor || r.body.records.length === 0) return out
  }
}

function rsvpStatus(value) {
  const s = value?.status
  return typeof s === 'string' && s.includes('#')
    ? s.slice(s.indexOf('#') + 1) : 'going'
}

async function truth(info, written) {
  const events = new Map()
  const rsvps = new Map()
  await pool(written.accounts, async (acct) => {
    for (const r of await listAll(info.pdsUrl, acct.did, EVENT))
      events.set(r.uri, r)
    for (const r of await listAll(info.pdsUrl, acct.did, RSVP))
      rsvps.set(r.uri, { uri: r.uri, eventUri: r.value?.subject?.uri,
        status: rsvpStatus(r.value), did: acct.did })
  })
  return { events, rsvps }
}

async function round(a, t, written) {
  const s = { missing: [], stale: [], extra: [], duplicated: [],
    errors: [], checkedEvents: 0, checkedRsvps: 0, goneChecked: 0 }
  const want = new Map()	// event uri -> [rsvp]
  for (const r of t.rsvps.values()) {
    if (!t.events.has(r.eventUri)) continue
    if (!want.has(r.eventUri)) want.set(r.eventUri, [])
    want.get(r.eventUri).push(r)
  }
  const headers = { authorization: `Bearer ${a.key}`, 'x-tenant-id': a.tenant }
  const bySource = (uri) => {
    const u = new URL('/api/events/by-source', a.api)
    u.searchParams.set('sourceType', 'bluesky')
    u.searchParams.set('sourceId', uri)
    return getJson(u, headers)
  }
  await pool([...t.events.values()], async (ev) => {
    const r = await bySource(ev.uri)
    s.checkedEvents++
    if (r.status === 404) {
      s.missing.push(`event ${ev.uri}`)
      return
    }
    if (r.status !== 200 || !r.body) {
      s.errors.push(`event ${ev.uri}: status ${r.status} ${r.error ?? ''}`)
      return
    }
    const got = r.body
    if (got.name !== ev.value.name ||
        got.source?.metadata?.cid !== ev.cid)
      s.stale.push(`event ${ev.uri}: want ${JSON.stringify(ev.value.name)}` +
        ` ${ev.cid} got ${JSON.stringify(got.name)}` +
        ` ${got.source?.metadata?.cid}`)
    const seen = new Map()
    for (const att of got.attendees ?? [])
      seen.set(att.sourceId, (seen.get(att.sourceId) ?? 0) + 1)
    for (const [id, n] of seen) {
      if (n > 1) s.duplicated.push(`attendee ${id} x${n} in ${ev.uri}`)
      if (!t.rsvps.has(id) || t.rsvps.get(id).eventUri !== ev.uri)
        s.extra.push(`attendee ${id} in ${ev.uri}`)
    }
    for (const rs of want.get(ev.uri) ?? []) {
      s.checkedRsvps++
      const att = (got.attendees ?? []).find((x) => x.sourceId === rs.uri)
      if (!att) s.missing.push(`rsvp ${rs.uri} (event ${ev.uri})`)
      else if (att.status !== rs.status || att.did !== rs.did)
        s.stale.push(`rsvp ${rs.uri}: want ${rs.status} got ${att.status}`)
    }
  })
  // Written once, gone from the PDS now: gone from the API too.
  const gone = written.touched.filter((u) => u.includes(`/${EVENT}/`) &&
    !t.events.has(u))
  await pool(gone, async (uri) => {
    const r = await bySource(uri)
    s.goneChecked++
    if (r.status === 200) s.extra.push(`deleted event ${uri} answers 200`)
    else if (r.status !== 404)
      s.errors.push(`deleted event ${uri}: status ${r.status}`)
  })
  return s
}

function writeTruth(dir, t) {
  fs.writeFileSync(path.join(dir, 'truth_events.txt'),
    [...t.events.keys()].map((u) => `${u}\n`).join(''))
  fs.writeFileSync(path.join(dir, 'truth_rsvps.txt'),
    [...t.rsvps.values()].map((r) => `${r.uri}\t${r.eventUri}\n`).join(''))
}

async function main() {
  const a = parseArgs(process.argv.slice(2))
  const info = JSON.parse(fs.readFileSync(a.info, 'utf8'))
  const written = JSON.parse(fs.readFileSync(a.written, 'utf8'))
  const t = await truth(info, written)
  if (a['truth-dir']) writeTruth(a['truth-dir'], t)
  const orphans = [...t.rsvps.values()].filter((r) =>
    !t.events.has(r.eventUri)).length
  const deadline = Date.now() + a.wait * 1000
  let s
  let rounds = 0
  for (;;) {
    s = await round(a, t, written)
    rounds++
    const bad = s.missing.length + s.stale.length + s.extra.length +
      s.duplicated.length + s.errors.length
    if (bad === 0 || Date.now() >= deadline) break
    await new Promise((res) => setTimeout(res, 1000))
  }
  const fig = {
    pdsEvents: t.events.size,
    pdsRsvps: t.rsvps.size,
    rsvpsOfDeletedEvents: orphans,
    deletedChecked: s.goneChecked,
    missing: s.missing.length,
    stale: s.stale.length,
    extra: s.extra.length,
    duplicated: s.duplicated.length,
    errors: s.errors.length,
    rounds,
  }
  console.log('figures ' + Object.entries(fig).map(([k, v]) => `${k}=${v}`)
    .join(' '))
  for (const k of ['missing', 'stale', 'extra', 'duplicated', 'errors'])
    for (const line of s[k].slice(0, MAX_REPORT)) console.log(`${k}: ${line}`)
  if (a.summary)
    fs.writeFileSync(a.summary, JSON.stringify({ ...fig,
      details: { missing: s.missing, stale: s.stale, extra: s.extra,
        duplicated: s.duplicated, errors: s.errors } }, null, 1) + '\n')
  const ok = fig.missing + fig.stale + fig.extra + fig.duplicated +
    fig.errors === 0
  process.exit(ok ? 0 : 1)
}

main().catch((err) => die(err?.stack || String(err)))
