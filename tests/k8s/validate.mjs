// SPDX-License-Identifier: ISC
//
// Checks one rendered overlay (`kubectl kustomize k8s/overlays/X`):
//   schema  every object against the Kubernetes schemas (kubernetes-models)
//           and the prometheus-operator CRDs; other CRDs (RabbitMQ, CNPG)
//           against the structural rules below; unknown kinds are errors.
//   env     every environment variable read by a settings table
//           (struct atc_config_item rows in consumer/, processor/, api/)
//           is set in the container of that service, or listed in the
//           workload's annotation atcal/defaulted-env; every variable set is
//           one the code reads (typos); every Secret/ConfigMap key
//           referenced exists (rendered, CloudNativePG's <cluster>-app, or
//           documented in <overlay>/<secret>.env.example).
//   policy  security context, probes, resources, replicas/PDB/HPA, Service
//           and ServiceMonitor selectors, NetworkPolicy coverage, alerts.
// Usage: node validate.mjs schema|env|policy RENDERED.yaml OVERLAY_DIR REPO
// Prints one line per problem and exits 1 when there is any.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import YAML from "yaml";

const require = createRequire(import.meta.url);
const [mode, rendered, overlayDir, repo] = process.argv.slice(2);
const problems = [];
const bad = (msg) => problems.push(msg);

if (!["schema", "env", "policy"].includes(mode) || !rendered || !overlayDir ||
    !repo) {
	console.error("usage: validate.mjs schema|env|policy RENDERED OVERLAY_DIR REPO");
	process.exit(2);
}

const objects = [];
for (const doc of YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8"))) {
	if (doc.errors.length > 0) {
		bad(`yaml: ${doc.errors[0].message}`);
		continue;
	}
	const o = doc.toJS();
	if (o !== null && o !== undefined)
		objects.push(o);
}
const id = (o) => `${o.kind}/${o.metadata?.name}`;

// ---------------------------------------------------------------- schema

// Structural rules for CRDs without a published model: path -> type.
// "!" marks a required field. Enough to catch wrong nesting and types.
const crdRules = {
	"rabbitmq.com/v1beta1/RabbitmqCluster": {
		"!spec": "object", "!spec.replicas": "integer",
		"spec.persistence.storage": "quantity",
		"spec.rabbitmq.additionalConfig": "string",
		"spec.resources": "object",
	},
	"rabbitmq.com/v1beta1/User": {
		"!spec.rabbitmqClusterReference.name": "string",
		"!spec.importCredentialsSecret.name": "string",
	},
	"rabbitmq.com/v1beta1/Permission": {
		"!spec.vhost": "string", "!spec.userReference.name": "string",
		"!spec.permissions.configure": "string",
		"!spec.permissions.write": "string",
		"!spec.permissions.read": "string",
		"!spec.rabbitmqClusterReference.name": "string",
	},
	"postgresql.cnpg.io/v1/Cluster": {
		"!spec.instances": "integer", "!spec.storage.size": "quantity",
		"spec.imageName": "string",
		"spec.bootstrap.initdb.database": "string",
		"spec.bootstrap.initdb.owner": "string",
		"spec.postgresql.parameters": "string-map",
		"spec.monitoring.enablePodMonitor": "boolean",
		"spec.backup.retentionPolicy": "string",
		"spec.backup.barmanObjectStore.destinationPath": "string",
		"spec.backup.barmanObjectStore.s3Credentials.accessKeyId.name": "string",
		"spec.backup.barmanObjectStore.s3Credentials.secretAccessKey.name": "string",
	},
	"postgresql.cnpg.io/v1/ScheduledBackup": {
		"!spec.schedule": "string", "!spec.cluster.name": "string",
		"spec.backupOwnerReference": "string",
	},
};

function get(o, dotted) {
	return dotted.split(".").reduce((v, k) => (v == null ? undefined : v[k]), o);
}

function typeOk(v, t) {
	switch (t) {
	case "object": return v !== null && typeof v === "object" && !Array.isArray(v);
	case "integer": return Number.isInteger(v);
	case "boolean": return typeof v === "boolean";
	case "string": return typeof v === "string";
	case "quantity": return typeof v === "string" &&
	    /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/.test(v);
	case "string-map": return typeOk(v, "object") &&
	    Object.values(v).every((x) => typeof x === "string");
	}
	throw new Error(`unknown rule type ${t}`);
}

function validateCrd(o, rules) {
	for (const [k, t] of Object.entries(rules)) {
		const req = k.startsWith("!");
		const p = req ? k.slice(1) : k;
		const v = get(o, p);
		if (v === undefined) {
			if (req)
				bad(`${id(o)}: ${p} is required`);
		} else if (!typeOk(v, t))
			bad(`${id(o)}: ${p} must be ${t}, got ${JSON.stringify(v)}`);
	}
	if (typeof o.metadata?.name !== "string")
		bad(`${id(o)}: metadata.name is required`);
}

function modelFor(apiVersion, kind) {
	const safe = /^[A-Za-z0-9.\-/]+$/;
	if (!safe.test(apiVersion) || !/^[A-Za-z]+$/.test(kind))
		return null;
	const tries = apiVersion.startsWith("monitoring.coreos.com/")
	    ? [`@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`]
	    : [`kubernetes-models/${apiVersion}/${kind}`];
	for (const t of tries) {
		try {
			return require(t)[kind];
		} catch (e) {
			if (e.code !== "MODULE_NOT_FOUND")
				throw e;
		}
	}
	return null;
}

function checkSchema() {
	if (objects.length === 0)
		bad("no objects rendered");
	for (const o of objects) {
		if (typeof o.apiVersion !== "string" || typeof o.kind !== "string") {
			bad(`object without apiVersion/kind: ${JSON.stringify(o).slice(0, 80)}`);
			continue;
		}
		const rules = crdRules[`${o.apiVersion}/${o.kind}`];
		if (rules) {
			validateCrd(o, rules);
			continue;
		}
		const Model = modelFor(o.apiVersion, o.kind);
		if (!Model) {
			bad(`${id(o)}: no schema for ${o.apiVersion} ${o.kind}`);
			continue;
		}
		// kustomize folds long base64 Secret data over lines; the API
		// server's decoder skips the newlines, the schema's "byte" format
		// does not.
		const v = o.kind === "Secret" && o.data ? { ...o, data:
		    Object.fromEntries(Object.entries(o.data).map(([k, x]) =>
		    [k, typeof x === "string" ? x.replace(/[\r\n]/g, "") : x])) } : o;
		try {
			new Model(v).validate();
		} catch (e) {
			bad(`${id(o)} (${o.apiVersion}): ${e.message}`);
		}
	}
}

// ------------------------------------------------------------------- env

// Rows of every `struct atc_config_item NAME[] = { ... };` table.
function settingsNames(file) {
	const src = fs.readFileSync(file, "utf8");
	const names = new Set();
	const table = /struct\s+atc_config_item\s+\w+\s*\[\s*\]\s*=\s*\{([\s\S]*?)\n\};/g;
	let m;
	while ((m = table.exec(src)) !== null) {
		const row = /\{\s*"([A-Z][A-Z0-9_]*)"\s*,/g;
		let r;
		while ((r = row.exec(m[1])) !== null)
			names.add(r[1]);
	}
	return names;
}

// Service -> names its code reads. A table in shared/ is read by the
// services that serve metrics and health themselves (consumer, processor).
function codeEnv() {
	const svc = { consumer: new Set(), processor: new Set(), api: new Set() };
	const dirs = { consumer: ["consumer"], processor: ["processor"],
	    api: ["api"], shared: ["consumer", "processor"] };
	for (const [dir, users] of Object.entries(dirs)) {
		const d = path.join(repo, dir);
		if (!fs.existsSync(d))
			continue;
		for (const f of fs.readdirSync(d).filter((x) => x.endsWith(".c")))
			for (const n of settingsNames(path.join(d, f)))
				for (const u of users)
					svc[u].add(n);
	}
	for (const [s, names] of Object.entries(svc))
		if (names.size === 0)
			bad(`no settings table found for ${s} (extraction broken?)`);
	return svc;
}

// Announced in the health/metrics contract; may be set before the code
// reads them.
const contractPending = new Set(["METRICS_LISTEN", "METRICS_TOKEN"]);

// Keys CloudNativePG writes into <cluster>-app.
const cnpgAppKeys = new Set(["username", "password", "host", "port",
    "dbname", "uri", "jdbc-uri", "pgpass", "user"]);

function exampleKeys(name) {
	const f = path.join(overlayDir, `${name}.env.example`);
	if (!fs.existsSync(f))
		return null;
	return new Set(fs.readFileSync(f, "utf8").split("\n")
	    .filter((l) => /^[A-Za-z_][A-Za-z0-9_.-]*=/.test(l))
	    .map((l) => l.slice(0, l.indexOf("="))));
}

function findObj(kind, name) {
	return objects.find((o) => o.kind === kind && o.metadata?.name === name);
}

// Keys of a Secret or ConfigMap, wherever it comes from; null if unknown.
function refKeys(kind, name) {
	const o = findObj(kind, name);
	if (o)
		return new Set([...Object.keys(o.data ?? {}),
		    ...Object.keys(o.stringData ?? {}),
		    ...Object.keys(o.binaryData ?? {})]);
	if (kind === "Secret") {
		for (const c of objects.filter((x) => x.kind === "Cluster" &&
		    x.apiVersion?.startsWith("postgresql.cnpg.io/")))
			if (name === `${c.metadata.name}-app`)
				return cnpgAppKeys;
	}
	return exampleKeys(name);
}

function checkRef(where, kind, ref) {
	if (!ref?.name || !ref?.key) {
		bad(`${where}: ${kind} reference without name and key`);
		return;
	}
	const keys = refKeys(kind, ref.name);
	if (keys === null) {
		if (!ref.optional)
			bad(`${where}: ${kind} ${ref.name} is neither rendered nor documented in ${ref.name}.env.example`);
		return;
	}
	if (!keys.has(ref.key) && !ref.optional)
		bad(`${where}: ${kind} ${ref.name} has no key ${ref.key}`);
}

function podTemplates() {
	const out = [];
	for (const o of objects) {
		const spec = o.kind === "CronJob" ? o.spec?.jobTemplate?.spec?.template?.spec
		    : o.spec?.template?.spec;
		if (["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]
		    .includes(o.kind) && spec)
			out.push({ o, spec });
	}
	return out;
}

function serviceOf(image) {
	const base = String(image).split("/").pop().split(/[:@]/)[0];
	return ["consumer", "processor", "api"].includes(base) ? base : null;
}

function checkEnv() {
	const code = codeEnv();
	const seen = new Set();
	for (const { o, spec } of podTemplates()) {
		const defaulted = new Set((o.metadata?.annotations?.["atcal/defaulted-env"] ?? "")
		    .split(/[\s,]+/).filter(Boolean));
		for (const c of spec.containers ?? []) {
			const where = `${id(o)} container ${c.name}`;
			const svc = serviceOf(c.image);
			if (!svc) {
				bad(`${where}: image ${c.image} is not one of ours`);
				continue;
			}
			seen.add(svc);
			const set = new Set();
			for (const e of c.env ?? []) {
				if (set.has(e.name))
					bad(`${where}: ${e.name} set twice`);
				set.add(e.name);
				if (e.valueFrom?.secretKeyRef)
					checkRef(`${where} ${e.name}`, "Secret", e.valueFrom.secretKeyRef);
				if (e.valueFrom?.configMapKeyRef)
					checkRef(`${where} ${e.name}`, "ConfigMap", e.valueFrom.configMapKeyRef);
			}
			for (const ef of c.envFrom ?? []) {
				const kind = ef.configMapRef ? "ConfigMap" : "Secret";
				const ref = ef.configMapRef ?? ef.secretRef;
				const keys = refKeys(kind, ref?.name);
				if (keys === null) {
					bad(`${where}: envFrom ${kind} ${ref?.name} is neither rendered nor documented`);
					continue;
				}
				for (const k of keys) {
					if (set.has(k))
						bad(`${where}: ${k} set twice (env and envFrom)`);
					set.add(k);
				}
			}
			const want = code[svc];
			for (const n of want)
				if (!set.has(n) && !defaulted.has(n))
					bad(`${where}: ${svc} reads ${n} but it is neither set nor in atcal/defaulted-env`);
			for (const n of set)
				if (!want.has(n) && !contractPending.has(n))
					bad(`${where}: ${n} is set but ${svc} never reads it`);
			for (const n of defaulted) {
				if (!want.has(n))
					bad(`${where}: atcal/defaulted-env names ${n}, which ${svc} never reads`);
				if (set.has(n))
					bad(`${where}: ${n} is both set and declared defaulted`);
			}
		}
	}
	for (const s of ["consumer", "processor", "api"])
		if (!seen.has(s))
			bad(`no workload runs the ${s} image`);
}

// ---------------------------------------------------------------- policy

function matches(selector, labels) {
	if (!selector || Object.keys(selector).length === 0)
		return true;
	const ml = selector.matchLabels ?? (selector.matchExpressions ? {} : selector);
	for (const [k, v] of Object.entries(ml))
		if (labels?.[k] !== v)
			return false;
	for (const ex of selector.matchExpressions ?? []) {
		const has = labels && ex.key in labels;
		const val = labels?.[ex.key];
		if ((ex.operator === "In" && !(ex.values ?? []).includes(val)) ||
		    (ex.operator === "NotIn" && (ex.values ?? []).includes(val)) ||
		    (ex.operator === "Exists" && !has) ||
		    (ex.operator === "DoesNotExist" && has))
			return false;
	}
	return true;
}

const alertsWanted = ["AtcalConsumerDisconnected", "AtcalConsumerLagHigh",
    "AtcalProcessingErrorRate", "AtcalConsumerBackpressurePaused",
    "AtcalConsumerReconnectFailures", "AtcalDeadLettersGrowing",
    "AtcalPodNotReady"];

function checkProbe(where, c, kind, wantPath) {
	const p = c[kind]?.httpGet;
	if (!p) {
		bad(`${where}: no ${kind} httpGet`);
		return;
	}
	if (p.path !== wantPath)
		bad(`${where}: ${kind} path ${p.path}, want ${wantPath}`);
	const ports = (c.ports ?? []).flatMap((x) => [x.name, x.containerPort]);
	if (!ports.includes(p.port))
		bad(`${where}: ${kind} port ${p.port} is not a container port`);
}

function checkPolicy() {
	const pods = podTemplates();
	for (const { o, spec } of pods) {
		const psc = spec.securityContext ?? {};
		if (psc.runAsNonRoot !== true)
			bad(`${id(o)}: pod securityContext.runAsNonRoot is not true`);
		if (spec.automountServiceAccountToken !== false)
			bad(`${id(o)}: service account token is mounted`);
		for (const c of spec.containers ?? []) {
			const where = `${id(o)} container ${c.name}`;
			const sc = c.securityContext ?? {};
			if (sc.readOnlyRootFilesystem !== true)
				bad(`${where}: readOnlyRootFilesystem is not true`);
			if (sc.allowPrivilegeEscalation !== false)
				bad(`${where}: allowPrivilegeEscalation is not false`);
			if (!(sc.capabilities?.drop ?? []).includes("ALL"))
				bad(`${where}: capabilities do not drop ALL`);
			if ((sc.capabilities?.add ?? []).length > 0)
				bad(`${where}: adds capabilities`);
			if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== "RuntimeDefault")
				bad(`${where}: seccompProfile is not RuntimeDefault`);
			for (const k of ["requests", "limits"])
				for (const r of ["cpu", "memory"])
					if (c.resources?.[k]?.[r] === undefined)
						bad(`${where}: resources.${k}.${r} missing`);
			if (o.kind === "Deployment") {
				checkProbe(where, c, "livenessProbe", "/health/liveness");
				checkProbe(where, c, "readinessProbe", "/health/readiness");
			}
		}
		const labels = spec && o.spec.template.metadata?.labels;
		const covered = objects.filter((n) => n.kind === "NetworkPolicy" &&
		    matches(n.spec?.podSelector, labels));
		for (const t of ["Ingress", "Egress"])
			if (!covered.some((n) => (n.spec.policyTypes ?? []).includes(t)))
				bad(`${id(o)}: no NetworkPolicy restricts its ${t}`);
	}
	const dep = (n) => objects.find((o) => o.kind === "Deployment" &&
	    o.metadata.name === n);
	const consumer = dep("atcal-consumer"), api = dep("atcal-api"),
	    processor = dep("atcal-processor");
	if (!consumer || consumer.spec.replicas !== 2)
		bad("Deployment atcal-consumer must exist with replicas 2 (one active, one standby)");
	if (!api || !(api.spec.replicas >= 2))
		bad("Deployment atcal-api must exist with replicas >= 2");
	if (api && !objects.some((p) => p.kind === "PodDisruptionBudget" &&
	    matches(p.spec.selector, api.spec.template.metadata.labels)))
		bad("no PodDisruptionBudget covers atcal-api");
	if (!processor || !objects.some((h) => h.kind === "HorizontalPodAutoscaler" &&
	    h.spec.scaleTargetRef?.kind === "Deployment" &&
	    h.spec.scaleTargetRef?.name === "atcal-processor"))
		bad("no HorizontalPodAutoscaler scales atcal-processor");
	if (processor && processor.spec.replicas !== undefined)
		bad("atcal-processor sets replicas although an HPA owns the count");
	if (!objects.some((j) => j.kind === "Job" &&
	    (j.spec.template.spec.containers ?? []).some((c) =>
	    serviceOf(c.image) === "api" && (c.args ?? [])[0] === "migrate")))
		bad("no Job runs `api migrate`");
	const services = objects.filter((o) => o.kind === "Service");
	for (const s of services) {
		const hit = pods.filter(({ o }) => o.kind === "Deployment" &&
		    matches(s.spec.selector, o.spec.template.metadata?.labels));
		if (hit.length === 0)
			bad(`${id(s)}: selector matches no Deployment`);
		for (const p of s.spec.ports ?? [])
			if (typeof p.targetPort === "string" && !hit.some(({ spec }) =>
			    spec.containers.some((c) => (c.ports ?? [])
			    .some((cp) => cp.name === p.targetPort))))
				bad(`${id(s)}: targetPort ${p.targetPort} is no container port`);
	}
	for (const m of objects.filter((o) => o.kind === "ServiceMonitor")) {
		const hit = services.filter((s) => matches(m.spec.selector, s.metadata.labels));
		if (hit.length === 0)
			bad(`${id(m)}: selects no Service`);
		for (const e of m.spec.endpoints ?? [])
			if (!hit.some((s) => (s.spec.ports ?? []).some((p) => p.name === e.port)))
				bad(`${id(m)}: endpoint port ${e.port} is on no selected Service`);
	}
	for (const name of ["consumer", "processor", "api"])
		if (!objects.some((m) => m.kind === "ServiceMonitor" &&
		    services.some((s) => s.metadata.labels?.["app.kubernetes.io/name"] === name &&
		    matches(m.spec.selector, s.metadata.labels))))
			bad(`no ServiceMonitor scrapes ${name}`);
	const rules = objects.filter((o) => o.kind === "PrometheusRule")
	    .flatMap((r) => (r.spec.groups ?? []).flatMap((g) => g.rules ?? []));
	for (const a of alertsWanted)
		if (!rules.some((r) => r.alert === a))
			bad(`PrometheusRule: alert ${a} missing`);
	for (const r of rules)
		if (!r.expr || !String(r.expr).trim())
			bad(`PrometheusRule: ${r.alert ?? r.record} has no expr`);
	const rmq = objects.find((o) => o.kind === "RabbitmqCluster");
	const pg = objects.find((o) => o.kind === "Cluster" &&
	    o.apiVersion?.startsWith("postgresql.cnpg.io/"));
	if (path.basename(overlayDir) === "prod") {
		if (!rmq || rmq.spec.replicas !== 3)
			bad("prod: RabbitmqCluster must have 3 nodes (quorum queues)");
		if (!pg || !(pg.spec.instances >= 2) || !pg.spec.backup)
			bad("prod: CNPG Cluster needs replicas and a backup section");
		if (objects.some((o) => o.kind === "Secret"))
			bad("prod: renders a Secret from git");
	}
}

({ schema: checkSchema, env: checkEnv, policy: checkPolicy })[mode]();
for (const p of problems)
	console.log(p);
console.log(`${mode}: ${objects.length} objects, ${problems.length} problem(s)`);
process.exit(problems.length > 0 ? 1 : 0);
