// SPDX-License-Identifier: ISC
//
// A small labeler for tests: serves com.atproto.label.subscribeLabels on
// 127.0.0.1 with frames encoded exactly like a real labeler's (DAG-CBOR
// header {op: 1, t: "#labels"} + payload {seq, labels: [...]}). Frames are
// kept in order; a subscriber gets every frame with seq > its cursor, then
// new ones as they are added. Each connection logs
// "label_server: connect cursor=N". Frames are added with
//   POST /emit {"seq": N, "labels": [{src, uri, val, neg?, cts, exp?, cid?}]}
// (labels get a fake 64-byte sig). POST /info {"name", "message"} sends an
// #info frame to current subscribers.
//
// Environment: LABEL_PORT (required), LABEL_INFO_FILE (written when ready).

import fs from 'node:fs'
import http from 'node:http'
import { WebSocketServer } from 'ws'
import * as dagCbor from '@ipld/dag-cbor'

const PATH = '/xrpc/com.atproto.label.subscribeLabels'
const frames = []	// {seq, bytes}
const subscribers = new Set()

function die(msg) {
  console.error(`label_server: ${msg}`)
  process.exit(1)
}

function frame(header, payload) {
  const h = dagCbor.encode(header)
  const p = dagCbor.encode(payload)
  const out = new Uint8Array(h.length + p.length)
  out.set(h, 0)
  out.set(p, h.length)
  return out
}

function labelValue(l) {
  const v = { ver: 1, src: l.src, uri: l.uri, val: l.val, cts: l.cts,
    sig: new Uint8Array(64).fill(7) }
  if (l.neg) v.neg = true
  if (l.cid) v.cid = l.cid
  if (l.exp) v.exp = l.exp
  return v
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let s = ''
    req.on('data', (d) => { s += d })
    req.on('end', () => {
      try { resolve(JSON.parse(s)) } catch (e) { reject(e) }
    })
  })
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/emit') {
      const b = await readBody(req)
      if (!Number.isInteger(b.seq) || !Array.isArray(b.labels)) throw new
        Error('need seq and labels')
      if (frames.length > 0 && b.seq <= frames[frames.length - 1].seq)
        throw new Error('seq must grow')
      const bytes = frame({ op: 1, t: '#labels' },
        { seq: b.seq, labels: b.labels.map(labelValue) })
      frames.push({ seq: b.seq, bytes })
      for (const ws of subscribers) ws.send(bytes)
      console.error(`label_server: emit seq=${b.seq} n=${b.labels.length}`)
    } else if (req.method === 'POST' && req.url === '/info') {
      const b = await readBody(req)
      const bytes = frame({ op: 1, t: '#info' }, { name: b.name,
        message: b.message })
      for (const ws of subscribers) ws.send(bytes)
    } else {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
      .end('{"ok":true}')
  } catch (e) {
    res.writeHead(400).end(JSON.stringify({ error: String(e) }))
  }
})

const wss = new WebSocketServer({ noServer: true })
server.on('upgrade', (req, sock, head) => {
  const url = new URL(req.url, 'http://x')
  if (url.pathname !== PATH) {
    sock.destroy()
    return
  }
  wss.handleUpgrade(req, sock, head, (ws) => {
    const cursor = Number(url.searchParams.get('cursor') ?? '-1')
    console.error(`label_server: connect cursor=${cursor}`)
    for (const f of frames) if (f.seq > cursor) ws.send(f.bytes)
    subscribers.add(ws)
    ws.on('close', () => subscribers.delete(ws))
  })
})

const port = Number(process.env.LABEL_PORT)
if (!Number.isInteger(port) || port < 1) die('LABEL_PORT is required')
server.listen(port, '127.0.0.1', () => {
  if (process.env.LABEL_INFO_FILE)
    fs.writeFileSync(process.env.LABEL_INFO_FILE, `${port}\n`)
  console.error(`label_server: ready port=${port}`)
})
process.on('SIGTERM', () => process.exit(0))
