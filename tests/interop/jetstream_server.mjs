// SPDX-License-Identifier: ISC
// A small Jetstream-compatible server for tests: serves recorded Jetstream
// v1 events (one JSON object a line) over /subscribe, honouring cursor
// (time_us: events with time_us >= cursor), wantedCollections (exact NSIDs
// and prefix.*; identity and account events always pass) and compress=true
// (each event one zstd frame made with the given dictionary, through the zstd
// CLI). Usage: node jetstream_server.mjs EVENTS.jsonl PORT [DICT] ; prints
// "listening PORT" when ready. Extra events can be appended at run time by
// writing JSON lines to the file named by $JETSTREAM_APPEND (polled).
import { readFileSync, existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { WebSocketServer } from 'ws';

const [file, portArg, dict] = process.argv.slice(2);
const port = Number(portArg);
let events = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim())
	.map((l) => ({ line: l, ev: JSON.parse(l) }));
const clients = new Set();

function compress(line) {
	return execFileSync('zstd', ['-q', '-c', '-D', dict], { input: line });
}

function wanted(ev, colls) {
	if (ev.kind !== 'commit' || colls.length === 0) return true;
	const c = ev.commit.collection;
	return colls.some((w) => w.endsWith('.*') ?
		c.startsWith(w.slice(0, -1)) : c === w);
}

function send(client, e) {
	if (!wanted(e.ev, client.colls)) return;
	if (client.compress) client.ws.send(compress(e.line), { binary: true });
	else client.ws.send(e.line);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/subscribe' });
wss.on('connection', (ws, req) => {
	const u = new URL(req.url, 'http://x');
	const client = {
		ws,
		colls: u.searchParams.getAll('wantedCollections'),
		compress: u.searchParams.get('compress') === 'true' && !!dict,
	};
	const cursor = u.searchParams.has('cursor') ?
		Number(u.searchParams.get('cursor')) : null;
	process.stdout.write(`connection ${req.url}\n`);
	ws.on('message', (m) => {
		try {
			const msg = JSON.parse(m.toString());
			if (msg.type === 'options_update')
				client.colls = msg.payload.wantedCollections ?? client.colls;
		} catch { /* ignore */ }
	});
	ws.on('close', () => clients.delete(client));
	// Replay from the cursor; live tip (no cursor) sends only new events.
	if (cursor !== null)
		for (const e of events) if (e.ev.time_us >= cursor) send(client, e);
	clients.add(client);
});

const append = process.env.JETSTREAM_APPEND;
let appended = 0;
if (append) {
	setInterval(() => {
		if (!existsSync(append) || statSync(append).size === appended) return;
		const text = readFileSync(append, 'utf8');
		const fresh = text.slice(appended);
		const cut = fresh.lastIndexOf('\n');
		if (cut < 0) return;
		appended += Buffer.byteLength(fresh.slice(0, cut + 1));
		for (const l of fresh.slice(0, cut + 1).split('\n')) {
			if (!l.trim()) continue;
			const e = { line: l, ev: JSON.parse(l) };
			events.push(e);
			for (const c of clients) send(c, e);
		}
	}, 50);
}
wss.on('listening', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => { wss.close(); process.exit(0); });
