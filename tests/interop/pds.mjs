// SPDX-License-Identifier: ISC
//
// Runs the reference PLC directory and the reference PDS in this process,
// both bound to 127.0.0.1, configured like @atproto/dev-env's TestPlc and
// TestPds (in-memory PLC, on-disk PDS in a temp data directory). When both
// answer, writes {pdsUrl, plcUrl, adminPassword, pdsPort, plcPort} to the
// file named by PDS_INFO_FILE (atomically) and logs "ready". Stops cleanly
// on SIGTERM/SIGINT.
//
// Environment: PDS_INFO_FILE (required), PDS_PORT, PLC_PORT (default: free
// ports), PDS_DATA_DIR (default: a new temp dir), PDS_ADMIN_PASSWORD.

import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import * as plc from '@did-plc/server'
import * as pds from '@atproto/pds'
import { Secp256k1Keypair } from '@atproto/crypto'

const LOOPBACK = '127.0.0.1'

function die(msg) {
  console.error(`pds.mjs: ${msg}`)
  process.exit(1)
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function envPort(name) {
  const v = process.env[name]
  if (v === undefined || v === '') return null
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 65535) die(`bad ${name}: ${v}`)
  return n
}

// Both servers call app.listen(port) with no host, i.e. every interface;
// make them listen on loopback only. The PDS wraps listen itself (to attach
// the websocket upgrade handler) and we wrap on top of that.
function bindLoopback(app) {
  const listen = app.listen
  app.listen = (port, ...rest) => listen.call(app, port, LOOPBACK, ...rest)
}

async function main() {
  const infoFile = process.env.PDS_INFO_FILE
  if (!infoFile) die('PDS_INFO_FILE is required')
  const plcPort = envPort('PLC_PORT') ?? (await freePort())
  const pdsPort = envPort('PDS_PORT') ?? (await freePort())
  const ownDir = !process.env.PDS_DATA_DIR
  const dataDir = ownDir
    ? fs.mkdtempSync(path.join(os.tmpdir(), 'atcal-pds-'))
    : process.env.PDS_DATA_DIR
  fs.mkdirSync(dataDir, { recursive: true })
  const adminPassword =
    process.env.PDS_ADMIN_PASSWORD || crypto.randomBytes(12).toString('hex')

  const plcServer = plc.PlcServer.create({
    db: plc.Database.mock(),
    port: plcPort,
  })
  bindLoopback(plcServer.app)
  await plcServer.start()
  // The PDS refuses an IP-literal PLC URL.
  const plcUrl = `http://localhost:${plcPort}`

  const recoveryKey = await Secp256k1Keypair.create()
  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const rotationHex = Buffer.from(await rotationKey.export()).toString('hex')
  const env = {
    devMode: true,
    port: pdsPort,
    hostname: 'localhost',
    dataDirectory: dataDir,
    blobstoreDiskLocation: path.join(dataDir, 'blobs'),
    recoveryDidKey: recoveryKey.did(),
    adminPassword,
    jwtSecret: crypto.randomBytes(16).toString('hex'),
    serviceHandleDomains: ['.test'],
    didPlcUrl: plcUrl,
    plcRotationKeyK256PrivateKeyHex: rotationHex,
    inviteRequired: false,
    disableSsrfProtection: true,
    // No app view, moderation service or crawlers: nothing off-machine.
    bskyAppViewUrl: undefined,
    modServiceUrl: undefined,
    crawlers: [],
    rateLimitsEnabled: false,
    serviceName: 'atcal interop PDS',
  }
  const cfg = pds.envToCfg(env)
  const secrets = pds.envToSecrets(env)
  const server = await pds.PDS.create(cfg, secrets)
  bindLoopback(server.app)
  await server.start()
  const pdsUrl = `http://localhost:${pdsPort}`

  const res = await fetch(`http://${LOOPBACK}:${pdsPort}/xrpc/_health`)
  if (!res.ok) die(`PDS health check answered ${res.status}`)

  const info = { pdsUrl, plcUrl, adminPassword, pdsPort, plcPort, dataDir }
  const tmp = `${infoFile}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n')
  fs.renameSync(tmp, infoFile)
  console.error(`pds.mjs: ready pds=${pdsUrl} plc=${plcUrl} data=${dataDir}`)

  let stopping = false
  const stop = async (sig) => {
    if (stopping) return
    stopping = true
    console.error(`pds.mjs: ${sig}, stopping`)
    try {
      await server.destroy()
      await plcServer.destroy()
    } catch (err) {
      console.error(`pds.mjs: stop: ${err}`)
    }
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => die(err?.stack || String(err)))
