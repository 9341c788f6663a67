// SPDX-License-Identifier: ISC
//
// A PLC directory that answers when told to: an HTTP proxy in front of the
// reference PLC (tests/interop/pds.mjs) that forwards GET /{did} at once,
// except for DIDs put on hold, whose requests it keeps open, unanswered,
// until released. For tests/interop/test_identity_resolve_async.sh: a slow
// DID document fetch, with a record of every request so the test can tell
// which request was open when.
//
// Usage: node plc_gate.mjs UPSTREAM_URL PORT
//   POST /_gate/hold?did=DID   hold every later request for DID
//   POST /_gate/release        answer the held requests (forwarded now) and
//                              hold nothing more
//   GET  /_gate/requests       [{id, did, held, state, startMs, endMs}]
//                              state: open, served (status), closed (the
//                              client gave up first)
// Logs "listening PORT" when ready, then one line per request.

import http from 'node:http'

const [upstream, portArg] = process.argv.slice(2)
const port = Number(portArg)
if (!upstream || !Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node plc_gate.mjs UPSTREAM_URL PORT')
  process.exit(2)
}

const holds = new Set()
const requests = []   // records, oldest first
const waiting = []    // {rec, req, res} of held requests not yet answered
let nextId = 1

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

// Forwards one GET to the upstream PLC; records how it ended.
function forward(rec, req, res) {
  if (rec.state !== 'open') return
  const up = http.get(new URL(req.url, upstream), (ur) => {
    const chunks = []
    ur.on('data', (c) => chunks.push(c))
    ur.on('end', () => {
      if (rec.state !== 'open') return
      rec.state = 'served'
      rec.status = ur.statusCode
      rec.endMs = Date.now()
      console.log(`served ${rec.id} ${rec.did} ${ur.statusCode}`)
      res.writeHead(ur.statusCode, {
        'content-type': ur.headers['content-type'] || 'application/json',
      })
      res.end(Buffer.concat(chunks))
    })
  })
  up.on('error', (e) => {
    if (rec.state !== 'open') return
    rec.state = 'served'
    rec.status = 502
    rec.endMs = Date.now()
    console.log(`upstream_error ${rec.id} ${rec.did} ${e.message}`)
    json(res, 502, { error: 'upstream', message: e.message })
  })
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://gate')
  if (url.pathname === '/_gate/hold' && req.method === 'POST') {
    holds.add(url.searchParams.get('did'))
    return json(res, 200, { holding: [...holds] })
  }
  if (url.pathname === '/_gate/release' && req.method === 'POST') {
    holds.clear()
    const n = waiting.length
    for (const w of waiting.splice(0)) forward(w.rec, w.req, w.res)
    return json(res, 200, { released: n })
  }
  if (url.pathname === '/_gate/requests' && req.method === 'GET')
    return json(res, 200, requests)
  if (req.method !== 'GET') return json(res, 405, { error: 'method' })
  const did = decodeURIComponent(url.pathname.slice(1))
  const rec = { id: nextId++, did, held: holds.has(did), state: 'open',
    startMs: Date.now(), endMs: null }
  requests.push(rec)
  res.on('close', () => {
    if (rec.state !== 'open') return
    rec.state = 'closed'
    rec.endMs = Date.now()
    console.log(`closed ${rec.id} ${rec.did} (client gave up)`)
  })
  if (!rec.held) return forward(rec, req, res)
  console.log(`held ${rec.id} ${rec.did}`)
  waiting.push({ rec, req, res })
})

server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => { server.closeAllConnections(); server.close();
    process.exit(0) })
