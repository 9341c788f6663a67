// SPDX-License-Identifier: ISC
//
// The reference side of the decode differential test. Decodes a capture
// (`[u32 LE length][frame]`..., as `consumer capture` writes it, plain or
// zstd-compressed) with the
// official TypeScript stack, the way @atproto/sync's Firehose does it:
// xrpc-server's Frame.fromBytes, the sync package's own subscribeRepos
// lexicon validation, parseCommitUnauthenticated (readCar with block CID
// verification, cborToLexRecord), parseAccount and parseSync; records are
// turned into atproto JSON with @atproto/lex-json. Prints one Jetstream v1
// line per commit op, identity and account event (time_us 0).
//
//   node differential_decode.mjs decode CAPTURE > ref.jsonl
//   node differential_decode.mjs compare OURS.jsonl REF.jsonl
//   node differential_decode.mjs count PDS_DATA_DIR
//
// compare ignores time_us, compares every other field as JSON (key order
// free), prints counts per kind and the first mismatches, exits 1 on any
// difference. count prints the number of events in the PDS's sequencer
// (what a cursor=0 replay sends).

import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import zlib from 'node:zlib'
import { Frame } from '@atproto/xrpc-server'
import { lexToJson } from '@atproto/lex-json'
import { parseAccount, parseCommitUnauthenticated, parseSync }
  from '@atproto/sync'

const METHOD = 'com.atproto.sync.subscribeRepos'
const MAX_FRAME = 5 * 1024 * 1024

function die(msg) {
  console.error(`differential_decode.mjs: ${msg}`)
  process.exit(2)
}

// The sync package validates each message against its own copy of the
// subscribeRepos lexicon; it does not export it, so load it by path.
async function loadLexicon() {
  const req = createRequire(import.meta.url)
  const main = req.resolve('@atproto/sync')
  const file = path.join(path.dirname(main), 'lexicons', 'index.js')
  const { com } = await import(`file://${file}`)
  return com.atproto.sync.subscribeRepos
}

function* frames(buf) {
  let off = 0
  while (off < buf.length) {
    if (buf.length - off < 4) die(`truncated length prefix at ${off}`)
    const len = buf.readUInt32LE(off)
    if (len > MAX_FRAME) die(`frame at ${off} claims ${len} bytes`)
    if (buf.length - off - 4 < len) die(`truncated frame at ${off}`)
    yield buf.subarray(off + 4, off + 4 + len)
    off += 4 + len
  }
}

function line(did, kind, body) {
  return JSON.stringify({ did, time_us: 0, kind, [kind]: body })
}

async function decode(file) {
  const sub = await loadLexicon()
  let buf = fs.readFileSync(file)
  // zstd-compressed captures, as the fixtures are stored.
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0xfd2fb528)
    buf = zlib.zstdDecompressSync(buf, { maxOutputLength: 512 << 20 })
  const n = { frames: 0, commit: 0, ops: 0, identity: 0, account: 0,
    sync: 0, error: 0, other: 0, invalid: 0 }
  const out = []
  for (const bytes of frames(buf)) {
    n.frames++
    const frame = Frame.fromBytes(bytes)
    if (frame.isError()) {
      n.error++
      continue
    }
    const t = frame.header.t
    const body = { ...frame.body, $type: t?.startsWith('#') ? METHOD + t : t }
    const res = sub.$message.safeParse(body)
    if (!res.success) {
      n.invalid++
      console.error(`frame ${n.frames} (${t}): lexicon: ${res.reason}`)
      continue
    }
    const evt = res.value
    if (sub.commit.$isTypeOf(evt)) {
      n.commit++
      for (const op of await parseCommitUnauthenticated(evt, null)) {
        n.ops++
        const c = { rev: op.rev, operation: op.event,
          collection: op.collection, rkey: op.rkey }
        if (op.event !== 'delete') {
          c.record = lexToJson(op.record)
          c.cid = op.cid.toString()
        }
        out.push(line(op.did, 'commit', c))
      }
    } else if (sub.identity.$isTypeOf(evt)) {
      n.identity++
      const b = { did: evt.did, seq: evt.seq, time: evt.time }
      if (evt.handle !== undefined) b.handle = evt.handle
      out.push(line(evt.did, 'identity', b))
    } else if (sub.account.$isTypeOf(evt)) {
      const a = parseAccount(evt)
      if (!a) {
        n.invalid++
        continue
      }
      n.account++
      const b = { active: a.active, did: a.did, seq: a.seq, time: a.time }
      if (a.status !== undefined) b.status = a.status
      out.push(line(a.did, 'account', b))
    } else if (sub.sync.$isTypeOf(evt)) {
      await parseSync(evt)
      n.sync++
    } else {
      n.other++
    }
  }
  process.stdout.write(out.map((l) => l + '\n').join(''))
  console.error(`reference: ${JSON.stringify(n)}`)
}

// Canonical form: keys sorted at every level, time_us dropped at the top.
function canon(v) {
  if (Array.isArray(v)) return v.map(canon)
  if (v !== null && typeof v === 'object') {
    const o = {}
    for (const k of Object.keys(v).sort()) o[k] = canon(v[k])
    return o
  }
  return v
}

function load(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')
    .map((l, i) => {
      let v
      try {
        v = JSON.parse(l)
      } catch (err) {
        die(`${file}:${i + 1}: not JSON: ${err.message}`)
      }
      delete v.time_us
      return JSON.stringify(canon(v))
    })
}

function compare(oursFile, refFile) {
  const ours = load(oursFile)
  const ref = load(refFile)
  const kinds = {}
  let bad = 0
  const n = Math.max(ours.length, ref.length)
  for (let i = 0; i < n; i++) {
    const k = JSON.parse(ref[i] ?? ours[i]).kind
    kinds[k] ??= { same: 0, differ: 0 }
    if (ours[i] === ref[i]) {
      kinds[k].same++
      continue
    }
    kinds[k].differ++
    if (++bad <= 5)
      console.error(`line ${i + 1} differs:\n  ours: ${ours[i] ?? '(none)'}` +
        `\n  ref:  ${ref[i] ?? '(none)'}`)
  }
  console.log(`lines ours=${ours.length} ref=${ref.length} ` +
    Object.entries(kinds).map(([k, v]) =>
      `${k}=${v.same}/${v.same + v.differ}`).join(' ') + ` mismatches=${bad}`)
  process.exit(bad === 0 && ours.length > 0 ? 0 : 1)
}

async function count(dataDir) {
  const req = createRequire(
    createRequire(import.meta.url).resolve('@atproto/pds'))
  const Database = req('better-sqlite3')
  const db = new Database(path.join(dataDir, 'sequencer.sqlite'),
    { readonly: true, fileMustExist: true })
  const row = db.prepare('SELECT count(*) AS n FROM repo_seq').get()
  db.close()
  console.log(row.n)
}

const [cmd, ...rest] = process.argv.slice(2)
try {
  if (cmd === 'decode' && rest.length === 1) await decode(rest[0])
  else if (cmd === 'compare' && rest.length === 2) compare(rest[0], rest[1])
  else if (cmd === 'count' && rest.length === 1) await count(rest[0])
  else die('usage: decode CAPTURE | compare OURS REF | count PDS_DATA_DIR')
} catch (err) {
  die(err?.stack || String(err))
}
