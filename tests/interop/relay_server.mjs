// SPDX-License-Identifier: ISC
//
// A relay's repository enumeration for tests: serves
// com.atproto.sync.listReposByCollection on 127.0.0.1 from a real PDS's
// repositories. Each request asks the PDS for every repository
// (com.atproto.sync.listRepos, paginated) and keeps the active ones whose
// com.atproto.repo.describeRepo lists the collection, sorted by DID, as a
// relay's collection index would. Pages hold at most min(limit,
// RELAY_PAGE_MAX) repos; the cursor is the last DID of the page and is
// only given while more follow. Every other XRPC method answers 501
// MethodNotImplemented (a relay does not hand out repositories here: the
// client must fetch them from each repo's PDS).
//
// Each page served logs one line
//   relay_server: list n=N collection=C cursor=X limit=L returned=K next=Y
// (X, Y "-" when absent). With RELAY_HOLD_AFTER=N, the one request that
// follows the N-th page is held unanswered ("relay_server: holding ...")
// until POST /release, so a test can stop its client in mid-enumeration;
// later requests are served as usual.
//
// Environment: PDS_URL (required), RELAY_INFO_FILE (required: {port} is
// written there when ready), RELAY_PORT (default: a free port),
// RELAY_PAGE_MAX (default 2), RELAY_HOLD_AFTER (default: never).

import fs from 'node:fs'
import http from 'node:http'

const LOOPBACK = '127.0.0.1'
const LIST = '/xrpc/com.atproto.sync.listReposByCollection'
const SEGMENT = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/

function die(msg) {
  console.error(`relay_server: ${msg}`)
  process.exit(1)
}

// Authority segments, then a name: a.b.name (at least three segments).
function isNsid(s) {
  const parts = s.split('.')
  return s.length <= 317 && parts.length >= 3 &&
    parts.every((p) => SEGMENT.test(p)) && /^[a-zA-Z]/.test(parts[0]) &&
    /^[a-zA-Z][a-zA-Z0-9]*$/.test(parts[parts.length - 1])
}

function envInt(name, def) {
  const v = process.env[name]
  if (v === undefined || v === '') return def
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) die(`bad ${name}: ${v}`)
  return n
}

const pdsUrl = process.env.PDS_URL || die('PDS_URL is required')
const infoFile = process.env.RELAY_INFO_FILE ||
  die('RELAY_INFO_FILE is required')
const pageMax = envInt('RELAY_PAGE_MAX', 2) || die('RELAY_PAGE_MAX is 0')
const holdAfter = envInt('RELAY_HOLD_AFTER', -1)
let served = 0
let holding = false
let release = null
const held = new Promise((resolve) => { release = resolve })

async function xrpc(nsid, params) {
  const u = new URL(`/xrpc/${nsid}`, pdsUrl)
  for (const [k, v] of Object.entries(params))
    if (v !== undefined) u.searchParams.set(k, String(v))
  const res = await fetch(u)
  if (!res.ok) throw new Error(`${nsid}: PDS answered ${res.status}`)
  return res.json()
}

// Active repositories of the PDS holding a record of collection, by DID.
async function holders(collection) {
  const dids = []
  let cursor
  do {
    const page = await xrpc('com.atproto.sync.listRepos',
      { limit: 100, cursor })
    for (const r of page.repos ?? []) {
      if (r.active === false) continue
      const d = await xrpc('com.atproto.repo.describeRepo', { repo: r.did })
      if ((d.collections ?? []).includes(collection)) dids.push(r.did)
    }
    cursor = (page.repos ?? []).length > 0 ? page.cursor : undefined
  } while (cursor)
  return dids.sort()
}

function answer(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json',
    'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function list(url, res) {
  const collection = url.searchParams.get('collection')
  const cursor = url.searchParams.get('cursor') || null
  const limitText = url.searchParams.get('limit') ?? '500'
  const limit = Number(limitText)
  if (!collection || !isNsid(collection))
    return answer(res, 400, { error: 'InvalidRequest',
      message: 'collection must be an NSID' })
  if (!Number.isInteger(limit) || limit < 1 || limit > 2000)
    return answer(res, 400, { error: 'InvalidRequest',
      message: 'limit must be an integer in 1..2000' })
  if (holdAfter >= 0 && served >= holdAfter && !holding) {
    holding = true
    console.error(`relay_server: holding collection=${collection} ` +
      `cursor=${cursor ?? '-'}`)
    await held
  }
  const all = await holders(collection)
  const rest = cursor === null ? all : all.filter((d) => d > cursor)
  const page = rest.slice(0, Math.min(limit, pageMax))
  const next = rest.length > page.length ? page[page.length - 1] : null
  served++
  console.error(`relay_server: list n=${served} collection=${collection} ` +
    `cursor=${cursor ?? '-'} limit=${limit} returned=${page.length} ` +
    `next=${next ?? '-'}`)
  const body = { repos: page.map((did) => ({ did })) }
  if (next !== null) body.cursor = next
  answer(res, 200, body)
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${LOOPBACK}`)
  try {
    if (req.method === 'GET' && url.pathname === LIST)
      return await list(url, res)
    if (req.method === 'POST' && url.pathname === '/release') {
      if (release !== null) {
        release()
        release = null
        console.error('relay_server: released')
      }
      return answer(res, 200, { released: true })
    }
    if (req.method === 'GET' && url.pathname === '/health')
      return answer(res, 200, { ok: true })
    if (url.pathname.startsWith('/xrpc/')) {
      console.error(`relay_server: unsupported ${url.pathname}`)
      return answer(res, 501, { error: 'MethodNotImplemented',
        message: 'this relay only enumerates repositories' })
    }
    answer(res, 404, { error: 'NotFound' })
  } catch (err) {
    console.error(`relay_server: ${url.pathname}: ${err.message}`)
    if (!res.headersSent)
      answer(res, 502, { error: 'UpstreamFailure', message: err.message })
  }
})

server.listen(envInt('RELAY_PORT', 0), LOOPBACK, () => {
  const { port } = server.address()
  fs.writeFileSync(`${infoFile}.tmp`, JSON.stringify({ port }) + '\n')
  fs.renameSync(`${infoFile}.tmp`, infoFile)
  console.error(`relay_server: ready port=${port} pds=${pdsUrl} ` +
    `page_max=${pageMax} hold_after=${holdAfter}`)
})
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
