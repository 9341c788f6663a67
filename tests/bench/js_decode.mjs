// SPDX-License-Identifier: ISC
//
// The reference JavaScript decoders on the same capture as `consumer bench`:
// every frame is decoded (header + payload), its CAR read, every op's record
// block looked up, hash-checked against the op's CID, decoded and written
// out as the Jetstream-shaped JSON line the consumer produces.
//   official: @atproto/lex-cbor decodeAll (frames), @atproto/repo readCar
//             (CAR; checks every block's CID unless skipCidVerification),
//             cborToLexRecord + @atproto/lex-json lexToJson + JSON.stringify
//   atcute:   @atcute/cbor decodeFirst/decode, @atcute/car fromUint8Array,
//             SHA-256 of each op's record block via @atcute/cid create
// Usage: node js_decode.mjs FRAMES.bin.zst [--seconds S]
// Prints one JSON line per case on stdout.

import { readFileSync } from 'node:fs'
import * as zlib from 'node:zlib'
import { execFileSync } from 'node:child_process'

import { decodeAll } from '@atproto/lex-cbor'
import { lexToJson } from '@atproto/lex-json'
import { cborToLexRecord, readCar } from '@atproto/repo'
import * as acbor from '@atcute/cbor'
import * as acar from '@atcute/car'
import * as acid from '@atcute/cid'

const args = process.argv.slice(2)
let file = null
let seconds = 3
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i])
  else if (file === null) file = args[i]
  else throw new Error(`usage: js_decode.mjs FILE [--seconds S]`)
}
if (file === null || !(seconds > 0)) {
  console.error('usage: node js_decode.mjs FRAMES.bin.zst [--seconds S]')
  process.exit(2)
}

function loadCapture (path) {
  let raw = readFileSync(path)
  if (raw.length >= 4 && raw.readUInt32LE(0) === 0xfd2fb528) {
    // node:zlib has zstd from Node 22.15; fall back to the zstd CLI.
    raw = typeof zlib.zstdDecompressSync === 'function'
      ? zlib.zstdDecompressSync(raw)
      : execFileSync('zstd', ['-dc', path], { maxBuffer: 1 << 30 })
  }
  const frames = []
  let pos = 0
  while (pos + 4 <= raw.length) {
    const len = raw.readUInt32LE(pos)
    if (pos + 4 + len > raw.length) throw new Error('truncated capture')
    frames.push(new Uint8Array(raw.buffer, raw.byteOffset + pos + 4, len))
    pos += 4 + len
  }
  return frames
}

const frames = loadCapture(file)
let bytes = 0
for (const f of frames) bytes += f.length

function envelope (did, rev, op, coll, rkey, record, cid) {
  return '{"did":' + JSON.stringify(did) + ',"time_us":' + Date.now() * 1000 +
    ',"kind":"commit","commit":{"rev":' + JSON.stringify(rev) +
    ',"operation":"' + op + '","collection":' + JSON.stringify(coll) +
    ',"rkey":' + JSON.stringify(rkey) +
    (record === undefined ? '' : ',"record":' + record + ',"cid":"' + cid + '"') +
    '}}'
}

async function officialFrame (data, verify, out) {
  const it = decodeAll(data)
  const header = it.next().value
  const body = it.next().value
  if (header.op !== 1 || header.t !== '#commit') return 0
  const car = await readCar(body.blocks, { skipCidVerification: !verify })
  let n = 0
  for (const op of body.ops) {
    const slash = op.path.indexOf('/')
    const coll = op.path.slice(0, slash)
    const rkey = op.path.slice(slash + 1)
    if (op.action === 'delete') {
      out.push(envelope(body.repo, body.rev, op.action, coll, rkey))
    } else {
      const block = car.blocks.get(op.cid)
      if (block === undefined) throw new Error(`missing block ${op.cid}`)
      const rec = JSON.stringify(lexToJson(cborToLexRecord(block)))
      out.push(envelope(body.repo, body.rev, op.action, coll, rkey, rec,
        op.cid.toString()))
    }
    n++
  }
  return n
}

function eqBytes (a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

async function atcuteFrame (data, verify, out) {
  const [header, rest] = acbor.decodeFirst(data)
  const body = acbor.decode(rest)
  if (header.op !== 1 || header.t !== '#commit') return 0
  const entries = [...acar.fromUint8Array(acbor.fromBytes(body.blocks))]
  let n = 0
  for (const op of body.ops) {
    const slash = op.path.indexOf('/')
    const coll = op.path.slice(0, slash)
    const rkey = op.path.slice(slash + 1)
    if (op.action === 'delete') {
      out.push(envelope(body.repo, body.rev, op.action, coll, rkey))
    } else {
      const want = op.cid.bytes
      const entry = entries.find((e) => eqBytes(e.cid.bytes, want))
      if (entry === undefined) throw new Error('missing block')
      const block = entry.bytes
      if (verify) {
        const got = await acid.create(acid.CODEC_DCBOR, block)
        if (!eqBytes(got.bytes, want)) throw new Error('hash mismatch')
      }
      const cidStr = op.cid.$link
      const rec = JSON.stringify(acbor.decode(block))
      out.push(envelope(body.repo, body.rev, op.action, coll, rkey, rec,
        cidStr))
    }
    n++
  }
  return n
}

async function run (name, fn, verify) {
  const out = []
  // Warm up (JIT) for a fifth of the time, then measure whole passes.
  let t0 = performance.now()
  while (performance.now() - t0 < seconds * 200) {
    for (const f of frames) { out.length = 0; await fn(f, verify, out) }
  }
  let nframes = 0
  let ops = 0
  t0 = performance.now()
  let elapsed = 0
  do {
    for (const f of frames) {
      out.length = 0
      ops += await fn(f, verify, out)
    }
    nframes += frames.length
    elapsed = (performance.now() - t0) / 1000
  } while (elapsed < seconds)
  const passes = nframes / frames.length
  console.log(JSON.stringify({
    case: name,
    verify,
    frames: nframes,
    ops,
    seconds: Number(elapsed.toFixed(6)),
    frames_per_s: Math.round(nframes / elapsed),
    mb_per_s: Number((bytes * passes / elapsed / 1e6).toFixed(1)),
    node: process.version
  }))
}

await run('official', officialFrame, true)
await run('official', officialFrame, false)
await run('atcute', atcuteFrame, true)
await run('atcute', atcuteFrame, false)
