// SPDX-License-Identifier: ISC
//
// Account lifecycle actions on the reference PDS (tests/interop/pds.mjs)
// through @atproto/api, one per invocation, for
// tests/interop/test_identity_lifecycle.sh. Accounts are named; their
// credentials live in the state file. Prints one JSON line per action.
//
// Usage: node lifecycle.mjs --info pds.json --state state.json CMD ARGS...
//   account NAME               create NAME.test; prints {did, handle}
//   event NAME RKEY TITLE      put a community.lexicon.calendar.event
//   rsvp NAME RKEY EVENT_URI   put a community.lexicon.calendar.rsvp (going)
//   handle NAME NEW_HANDLE     com.atproto.identity.updateHandle
//   deactivate NAME | activate NAME
//   profile NAME JSON          put app.bsky.actor.profile/self (JSON record
//                              fields; "avatar": true uploads a small blob)
//   unprofile NAME             delete app.bsky.actor.profile/self
//   delete NAME                admin deleteAccount

import fs from 'node:fs'
import { AtpAgent } from '@atproto/api'

function die(msg) {
  console.error(`lifecycle.mjs: ${msg}`)
  process.exit(1)
}

const argv = process.argv.slice(2)
const opts = {}
while (argv.length >= 2 && argv[0].startsWith('--')) {
  opts[argv[0].slice(2)] = argv[1]
  argv.splice(0, 2)
}
if (!opts.info || !opts.state || argv.length < 2) die('bad arguments')
const info = JSON.parse(fs.readFileSync(opts.info, 'utf8'))
const state = fs.existsSync(opts.state)
  ? JSON.parse(fs.readFileSync(opts.state, 'utf8'))
  : { accounts: {} }
const [cmd, name, ...rest] = argv

function save() {
  fs.writeFileSync(opts.state + '.tmp', JSON.stringify(state))
  fs.renameSync(opts.state + '.tmp', opts.state)
}

async function agent() {
  const acct = state.accounts[name]
  if (!acct) die(`no account ${name}`)
  const a = new AtpAgent({ service: info.pdsUrl })
  await a.login({ identifier: acct.did, password: acct.password })
  return [a, acct]
}

function put(a, did, collection, rkey, record) {
  return a.com.atproto.repo.putRecord({ repo: did, collection, rkey,
    record, validate: false })
}

async function main() {
  if (cmd === 'account') {
    const acct = { handle: `${name}.test`, email: `${name}@atcal.invalid`,
      password: `pw-${name}-lifecycle` }
    const a = new AtpAgent({ service: info.pdsUrl })
    const res = await a.createAccount(acct)
    acct.did = res.data.did
    state.accounts[name] = acct
    save()
    return { did: acct.did, handle: acct.handle }
  }
  if (cmd === 'delete') {
    const acct = state.accounts[name]
    const a = new AtpAgent({ service: info.pdsUrl })
    const basic = Buffer.from(`admin:${info.adminPassword}`).toString('base64')
    await a.com.atproto.admin.deleteAccount({ did: acct.did },
      { headers: { authorization: `Basic ${basic}` }, encoding: 'application/json' })
    return { deleted: acct.did }
  }
  const [a, acct] = await agent()
  const now = new Date().toISOString()
  switch (cmd) {
  case 'event': {
    const [rkey, title] = rest
    const res = await put(a, acct.did, 'community.lexicon.calendar.event',
      rkey, { $type: 'community.lexicon.calendar.event', name: title,
        createdAt: now, startsAt: '2026-09-01T18:00:00.000Z',
        mode: 'community.lexicon.calendar.event#inperson',
        status: 'community.lexicon.calendar.event#scheduled' })
    return { uri: res.data.uri }
  }
  case 'rsvp': {
    const [rkey, uri] = rest
    const res = await put(a, acct.did, 'community.lexicon.calendar.rsvp',
      rkey, { $type: 'community.lexicon.calendar.rsvp', createdAt: now,
        subject: { uri, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' },
        status: 'community.lexicon.calendar.rsvp#going' })
    return { uri: res.data.uri }
  }
  case 'handle':
    await a.com.atproto.identity.updateHandle({ handle: rest[0] })
    acct.handle = rest[0]
    save()
    return { handle: rest[0] }
  case 'deactivate':
    await a.com.atproto.server.deactivateAccount({})
    return { deactivated: acct.did }
  case 'activate':
    await a.com.atproto.server.activateAccount()
    return { activated: acct.did }
  case 'profile': {
    const rec = { $type: 'app.bsky.actor.profile', ...JSON.parse(rest[0]) }
    if (rec.avatar === true) {
      const up = await a.uploadBlob(new Uint8Array([137, 80, 78, 71, 13, 10,
        26, 10]), { encoding: 'image/png' })
      rec.avatar = up.data.blob
    }
    const res = await put(a, acct.did, 'app.bsky.actor.profile', 'self', rec)
    return { uri: res.data.uri, avatar: rec.avatar ? rec.avatar.ref.toString() : null }
  }
  case 'unprofile':
    await a.com.atproto.repo.deleteRecord({ repo: acct.did,
      collection: 'app.bsky.actor.profile', rkey: 'self' })
    return { deleted: 'profile' }
  default:
    die(`unknown command ${cmd}`)
  }
}

main().then((r) => { console.log(JSON.stringify(r)); process.exit(0) },
  (e) => die(`${cmd} ${name}: ${e.message}`))
