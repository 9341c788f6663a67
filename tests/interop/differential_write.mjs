// SPDX-License-Identifier: ISC
//
// Writes the edge cases of the decode differential test to the reference
// PDS, on top of what write.mjs writes: a record holding a blob, bytes,
// cid-links, deep nesting, integer extremes, unicode in keys and values (a
// NUL inside a string value too), a non-calendar collection, an update and
// a delete in one applyWrites commit, a handle change, deactivate and
// activate, and an account deleted by the admin (its earlier events leave
// the replay window). Prints one line "records=N accounts=N" at the end.
//
// Usage: node differential_write.mjs --info pds.json [--tag STR]

import fs from 'node:fs'
import { AtpAgent } from '@atproto/api'

const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'

function die(msg) {
  console.error(`differential_write.mjs: ${msg}`)
  process.exit(1)
}

function args(argv) {
  const a = { tag: 'd' }
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined)
      die(`bad argument ${argv[i]}`)
    a[argv[i].slice(2)] = argv[i + 1]
  }
  if (!a.info) die('--info is required')
  return a
}

async function account(pdsUrl, name) {
  const agent = new AtpAgent({ service: pdsUrl })
  const res = await agent.createAccount({
    handle: `${name}.test`,
    email: `${name}@atcal.invalid`,
    password: `pw-${name}`,
  })
  return { agent, did: res.data.did, handle: `${name}.test` }
}

async function create(acct, collection, record, rkey) {
  const a = acct.agent.com.atproto.repo
  const res = rkey
    ? await a.putRecord({ repo: acct.did, collection, rkey, record,
      validate: false })
    : await a.createRecord({ repo: acct.did, collection, record,
      validate: false })
  return { uri: res.data.uri, cid: res.data.cid,
    rkey: res.data.uri.split('/').pop() }
}

// A small PNG-like payload: the PDS sniffs nothing, it stores the bytes.
function blobBytes() {
  const b = new Uint8Array(300)
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + 3) & 0xff
  return b
}

async function main() {
  const a = args(process.argv.slice(2))
  const info = JSON.parse(fs.readFileSync(a.info, 'utf8'))
  let nrecords = 0
  const t = a.tag
  const alice = await account(info.pdsUrl, `${t}alice`)
  const bob = await account(info.pdsUrl, `${t}bob`)
  const gone = await account(info.pdsUrl, `${t}gone`)

  const up = await alice.agent.uploadBlob(blobBytes(),
    { encoding: 'image/png' })
  const blob = up.data.blob
  const ev = await create(alice, EVENT, {
    $type: EVENT,
    name: 'Ünïcödé 🎉 מפגש 会議 \u0301e\u200d',
    description: 'NUL inside a value: a\u0000b; quote " backslash \\ tab\t',
    createdAt: '2026-03-01T10:00:00.000Z',
    startsAt: '2026-03-02T18:30:00+01:00',
    mode: `${EVENT}#hybrid`,
    status: `${EVENT}#scheduled`,
    media: [{ role: 'thumbnail', content: blob, alt: 'poster' }],
    locations: [
      { $type: 'community.lexicon.location.geo', latitude: '-33.8688',
        longitude: '151.2093', name: 'Sydney' },
      { $type: 'community.lexicon.location.address', country: 'JP',
        locality: '東京', street: '丸の内1丁目' },
      { $type: 'community.lexicon.location.hthree', value: '8a2a1072b59ffff' },
      { $type: 'community.lexicon.location.fsq',
        fsq_place_id: '4a27c9c7f964a520a8951fe3' },
      { $type: `${EVENT}#uri`, uri: 'https://example.org/ü?q=1&r=2' },
    ],
  })
  nrecords++
  await create(alice, 'org.atcal.test.datamodel', {
    $type: 'org.atcal.test.datamodel',
    bytes: { $bytes: 'AAECAwQFBgcICQoLDA0ODw' },
    emptyBytes: { $bytes: '' },
    link: { $link: ev.cid },
    big: 9007199254740991,
    small: -9007199254740991,
    zero: 0,
    t: true,
    f: false,
    nothing: null,
    empty: '',
    emptyObj: {},
    emptyArr: [],
    'ключ 🔑': 'unicode key',
    nested: [[[[[[[[[[[[[[[[{ deep: [1, [2, [3]]] }]]]]]]]]]]]]]]]],
  })
  nrecords++
  await create(bob, 'app.bsky.feed.post', {
    $type: 'app.bsky.feed.post',
    text: 'not a calendar record',
    createdAt: '2026-03-01T10:00:01.000Z',
    langs: ['en'],
  })
  nrecords++
  const r = await create(bob, RSVP, {
    $type: RSVP,
    subject: { uri: ev.uri, cid: ev.cid },
    status: `${RSVP}#interested`,
    createdAt: '2026-03-01T10:00:02.000Z',
  })
  nrecords++
  // update + delete + create in one commit
  await bob.agent.com.atproto.repo.applyWrites({
    repo: bob.did,
    validate: false,
    writes: [
      { $type: 'com.atproto.repo.applyWrites#update', collection: RSVP,
        rkey: r.rkey, value: { $type: RSVP,
          subject: { uri: ev.uri, cid: ev.cid },
          createdAt: '2026-03-01T10:00:02.000Z' } },
      { $type: 'com.atproto.repo.applyWrites#create', collection: EVENT,
        rkey: 'self', value: { $type: EVENT, name: 'rkey self',
          createdAt: '2026-03-01T10:00:03.000Z' } },
      { $type: 'com.atproto.repo.applyWrites#create', collection: EVENT,
        rkey: 'a-b_c.d~e:f', value: { $type: EVENT, name: 'odd rkey',
          createdAt: '2026-03-01T10:00:04.000Z' } },
    ],
  })
  nrecords += 3
  await bob.agent.com.atproto.repo.deleteRecord({ repo: bob.did,
    collection: EVENT, rkey: 'a-b_c.d~e:f' })

  await alice.agent.com.atproto.identity.updateHandle({
    handle: `${t}alice2.test` })
  await bob.agent.com.atproto.server.deactivateAccount({})
  await bob.agent.com.atproto.server.activateAccount()
  await create(bob, EVENT, { $type: EVENT, name: 'after reactivation',
    createdAt: '2026-03-01T10:00:05.000Z' })
  nrecords++

  await create(gone, EVENT, { $type: EVENT, name: 'to be deleted with account',
    createdAt: '2026-03-01T10:00:06.000Z' })
  const res = await fetch(`${info.pdsUrl}/xrpc/com.atproto.admin.deleteAccount`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Basic ' +
          Buffer.from(`admin:${info.adminPassword}`).toString('base64'),
      },
      body: JSON.stringify({ did: gone.did }),
    })
  if (!res.ok) die(`admin deleteAccount answered ${res.status}`)
  // A last write so the account deletion is not the final event.
  await create(alice, EVENT, { $type: EVENT, name: 'last',
    createdAt: '2026-03-01T10:00:07.000Z' })
  nrecords++
  console.log(`records=${nrecords} accounts=3`)
}

main().catch((err) => die(err?.stack || String(err)))
