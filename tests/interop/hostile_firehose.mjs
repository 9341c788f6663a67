// SPDX-License-Identifier: ISC
//
// A hostile com.atproto.sync.subscribeRepos server for the consumer's
// robustness test. Valid #commit frames (real DAG-CBOR and CAR v1 built
// here with @ipld/dag-cbor and multiformats, CIDs computed with SHA-256)
// are interleaved with: a text frame, a 6 MB binary frame, a truncated
// frame, a commit whose calendar record does not match its CID (next to a
// good op), a frame nested 100 levels deep, a commit with a record holding
// U+0000 in a map key (next to an RSVP with U+0000 in a value and a
// delete), and at the end an error frame (op -1, FutureCursor).
//
// Honours ?cursor=N like a relay: valid frames with seq <= N are not sent
// again. Each hostile frame is sent once only, in its place in the first
// pass; a connection stops sending after the text frame (the client is
// expected to drop it and reconnect). After the error frame the server
// closes; a later connection past the last seq gets FutureCursor again,
// one at the last seq is held open idle.
//
// Usage: node hostile_firehose.mjs PORT MANIFEST
// MANIFEST (JSON, written before listening): {did, frames: [{name, seq?,
// len, publish: [{id, rk}], drop: [{uri, cause}]}]}. stdout gets one line
// per connection ("conn N cursor=C") and per frame sent ("sent NAME
// conn=N"), so the test can count deliveries.

import fs from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { WebSocketServer } from 'ws'

const DID = 'did:plc:hostilepeeraaaaaaaaaaaaa'
const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'
const LEGACY = 'events.smokesignal.calendar.event'
const B32 = '234567abcdefghijklmnopqrstuvwxyz'

function die(msg) {
  console.error(`hostile_firehose.mjs: ${msg}`)
  process.exit(1)
}

const tid = (prefix, n) => `3l${prefix}${'a'.repeat(9)}${B32[n % 32]}`
const rev = (seq) => tid('r', seq)

async function cidOf(bytes) {
  return CID.createV1(dagCbor.code, await sha256.digest(bytes))
}

function varint(n) {
  const out = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return Uint8Array.from(out)
}

function car(root, blocks) {
  const parts = []
  const hdr = dagCbor.encode({ version: 1, roots: [root] })
  parts.push(varint(hdr.length), hdr)
  for (const b of blocks) {
    parts.push(varint(b.cid.bytes.length + b.bytes.length), b.cid.bytes,
      b.bytes)
  }
  return Buffer.concat(parts)
}

// ops: [{action, collection, rkey, record?, tamper?}]. tamper changes the
// block after its CID was computed.
async function commitFrame(seq, ops) {
  const blocks = []
  const fops = []
  for (const op of ops) {
    const path = `${op.collection}/${op.rkey}`
    if (op.action === 'delete') {
      fops.push({ action: 'delete', path, cid: null })
      continue
    }
    const bytes = dagCbor.encode(op.record)
    const cid = await cidOf(bytes)
    const stored = op.tamper
      ? dagCbor.encode({ ...op.record, name: `${op.record.name} (tampered)` })
      : bytes
    blocks.push({ cid, bytes: stored })
    fops.push({ action: op.action, path, cid })
  }
  const data = await cidOf(dagCbor.encode({ e: [], l: null }))
  const commit = dagCbor.encode({ did: DID, version: 3, data, rev: rev(seq),
    prev: null, sig: new Uint8Array(64).fill(7) })
  const commitCid = await cidOf(commit)
  blocks.unshift({ cid: commitCid, bytes: commit })
  const body = {
    seq, rebase: false, tooBig: false, repo: DID, commit: commitCid,
    rev: rev(seq), since: seq > 1 ? rev(seq - 1) : null,
    blocks: car(commitCid, blocks), ops: fops, blobs: [],
    time: new Date(Date.UTC(2026, 2, 1, 12, 0, seq)).toISOString(),
  }
  return Buffer.concat([dagCbor.encode({ op: 1, t: '#commit' }),
    dagCbor.encode(body)])
}

const uri = (collection, rkey) => `at://${DID}/${collection}/${rkey}`

function event(name, n) {
  return { $type: EVENT, name, createdAt: '2026-03-01T12:00:00.000Z',
    startsAt: `2026-04-${String(n).padStart(2, '0')}T18:00:00.000Z` }
}

async function build() {
  const e1 = tid('e', 1)
  const r1 = tid('s', 1)
  const frames = []
  const valid = async (seq, ops) => {
    const publish = []
    const drop = []
    for (const op of ops) {
      const u = uri(op.collection, op.rkey)
      const kind = op.collection.endsWith('.rsvp') ? 'rsvp' : 'event'
      if (op.tamper) drop.push({ uri: u, cause: 'hash mismatch' })
      else if (op.nulKey) drop.push({ uri: u, cause: 'NUL in a map key' })
      else if (op.collection.includes('calendar'))
        publish.push({ id: `${u}#${rev(seq)}`, rk: `${kind}.${op.action}` })
    }
    frames.push({ name: `seq${seq}`, seq, bytes: await commitFrame(seq, ops),
      publish, drop })
  }
  const e1rec = event('Hostile test event 1', 1)
  await valid(1, [{ action: 'create', collection: EVENT, rkey: e1,
    record: e1rec }])
  const e1cid = (await cidOf(dagCbor.encode(e1rec))).toString()
  await valid(2, [{ action: 'create', collection: RSVP, rkey: r1,
    record: { $type: RSVP, subject: { uri: uri(EVENT, e1), cid: e1cid },
      status: `${RSVP}#going`, createdAt: '2026-03-01T12:00:01.000Z' } }])
  frames.push({ name: 'text', text: '{"op":1,"t":"#commit"}' })
  await valid(3, [{ action: 'update', collection: EVENT, rkey: e1,
    record: { ...e1rec, name: 'Hostile test event 1 (moved)' } }])
  // 6 MB: a valid header and a byte string too large for any frame.
  const big = Buffer.alloc(6 * 1024 * 1024, 0x61)
  frames.push({ name: 'oversized', bytes: Buffer.concat([
    dagCbor.encode({ op: 1, t: '#commit' }), big]) })
  await valid(4, [
    { action: 'create', collection: EVENT, rkey: tid('e', 2),
      record: event('Hostile test event 2 ✓', 2) },
    { action: 'create', collection: 'app.bsky.feed.post', rkey: tid('p', 1),
      record: { $type: 'app.bsky.feed.post', text: 'not calendar',
        createdAt: '2026-03-01T12:00:02.000Z' } },
  ])
  const t5 = await commitFrame(5, [{ action: 'create', collection: EVENT,
    rkey: tid('e', 3), record: event('never seen', 3) }])
  frames.push({ name: 'truncated', bytes: t5.subarray(0, t5.length >> 1) })
  await valid(6, [
    { action: 'create', collection: EVENT, rkey: tid('e', 4),
      record: event('tampered', 4), tamper: true },
    { action: 'create', collection: EVENT, rkey: tid('e', 5),
      record: event('Hostile test event 5', 5) },
  ])
  let deep = 'bottom'
  for (let i = 0; i < 100; i++) deep = [deep]
  frames.push({ name: 'deep', bytes: Buffer.concat([
    dagCbor.encode({ op: 1, t: '#commit' }),
    dagCbor.encode({ seq: 7, repo: DID, time: '2026-03-01T12:00:07.000Z',
      deep })]) })
  await valid(8, [
    { action: 'create', collection: EVENT, rkey: tid('e', 6),
      record: { ...event('NUL key', 6), 'bad\u0000key': 1 }, nulKey: true },
    { action: 'create', collection: RSVP, rkey: tid('s', 2),
      record: { $type: RSVP, subject: { uri: uri(EVENT, e1), cid: e1cid },
        status: `${RSVP}#interested`, note: 'nul\u0000inside',
        createdAt: '2026-03-01T12:00:08.000Z' } },
    { action: 'delete', collection: EVENT, rkey: tid('e', 2) },
  ])
  await valid(9, [{ action: 'create', collection: LEGACY, rkey: tid('l', 1),
    record: { $type: LEGACY, name: 'Legacy smokesignal event',
      createdAt: '2026-03-01T12:00:09.000Z' } }])
  frames.push({ name: 'error', error: true, bytes: Buffer.concat([
    dagCbor.encode({ op: -1 }),
    dagCbor.encode({ error: 'FutureCursor',
      message: 'Cursor in the future.' })]) })
  return frames
}

function send(ws, data, binary) {
  return new Promise((resolve, reject) =>
    ws.send(data, { binary }, (err) => (err ? reject(err) : resolve())))
}

async function main() {
  const [portArg, manifest] = process.argv.slice(2)
  const port = Number(portArg)
  if (!Number.isInteger(port) || !manifest) die('usage: PORT MANIFEST')
  const frames = await build()
  const lastSeq = Math.max(...frames.filter((f) => f.seq).map((f) => f.seq))
  const errorFrame = frames.find((f) => f.error).bytes
  fs.writeFileSync(manifest, JSON.stringify({
    did: DID,
    frames: frames.map((f) => ({ name: f.name, seq: f.seq ?? null,
      len: f.bytes ? f.bytes.length : f.text.length,
      publish: f.publish ?? [], drop: f.drop ?? [] })),
  }, null, 2) + '\n')
  const sentOnce = new Set()
  let nconn = 0
  const wss = new WebSocketServer({ host: '127.0.0.1', port })
  wss.on('connection', async (ws, req) => {
    const conn = ++nconn
    const url = new URL(req.url, 'http://x')
    const cursor = Number(url.searchParams.get('cursor') ?? 0)
    console.log(`conn ${conn} cursor=${cursor} path=${url.pathname}`)
    ws.on('error', (err) => console.log(`conn ${conn} error ${err.message}`))
    ws.on('close', () => console.log(`conn ${conn} closed`))
    try {
      if (cursor > lastSeq) {
        await send(ws, errorFrame, true)
        console.log(`sent error conn=${conn}`)
        ws.close()
        return
      }
      for (const f of frames) {
        if (ws.readyState !== ws.OPEN) return
        if (f.seq !== undefined) {
          if (f.seq <= cursor) continue
        } else if (sentOnce.has(f.name)) {
          continue
        }
        if (f.seq === undefined) sentOnce.add(f.name)
        if (f.text !== undefined) {
          await send(ws, f.text, false)
          console.log(`sent ${f.name} conn=${conn}`)
          return
        }
        await send(ws, f.bytes, true)
        console.log(`sent ${f.name} conn=${conn}`)
        if (f.error) {
          ws.close()
          return
        }
      }
    } catch (err) {
      console.log(`conn ${conn} send failed: ${err.message}`)
    }
  })
  wss.on('listening', () => console.log(`listening ${port}`))
}

main().catch((err) => die(err?.stack || String(err)))
