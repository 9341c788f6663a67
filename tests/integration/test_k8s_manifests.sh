#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Renders every k8s/ overlay with `kubectl kustomize` and checks each
# rendering with tests/k8s/validate.mjs: every object against the Kubernetes
# and prometheus-operator schemas (RabbitMQ and CloudNativePG objects
# structurally), every environment variable of the settings tables set in
# its service's container, and the deployment policy (security context,
# probes, resources, PDB/HPA, selectors, NetworkPolicies, alerts). Then it
# proves the checks can fail: an overlay of dev with deliberate mistakes
# must be rejected by each of them. Finally the Dockerfiles are checked
# statically (no Docker engine here).
#
# Needs kubectl (skips without it) and `npm ci` in tests/k8s (scripts/deps.sh
# --test).

source tests/lib/common.sh
t_init k8s_manifests

command -v kubectl >/dev/null 2>&1 || t_skip "kubectl not installed"
command -v node >/dev/null 2>&1 || t_skip "node not installed"
[ -d tests/k8s/node_modules/kubernetes-models ] ||
    t_skip "tests/k8s/node_modules missing: run (cd tests/k8s && npm ci)"

VALIDATE=tests/k8s/validate.mjs

render() {
	kubectl kustomize "$1" >"$2" 2>"$2.err" || { cat "$2.err"; return 1; }
}

validate() {
	node "$VALIDATE" "$1" "$2" "$3" "$T_ROOT"
}

overlays=0
for dir in k8s/overlays/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	overlays=$((overlays + 1))
	out="$T_DIR/$name.yaml"
	if ! t_check "$name: kubectl kustomize renders" render "$dir" "$out"
	then
		continue
	fi
	t_check "$name: every object valid against its schema" \
	    validate schema "$out" "$dir"
	t_check "$name: every env var the code reads is set, every key exists" \
	    validate env "$out" "$dir"
	t_check "$name: security, probes, resources, PDB/HPA, selectors, policies" \
	    validate policy "$out" "$dir"
done
# The PrometheusRule's groups form a plain rules file: promtool (Debian
# package prometheus) parses every expression and template.
rules_ok() {
	node -e '
	    const Y = require(process.argv[2]);
	    const docs = Y.parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8"))
		.map((d) => d.toJS()).filter((o) => o && o.kind === "PrometheusRule");
	    if (docs.length === 0) { console.error("no PrometheusRule"); process.exit(1); }
	    process.stdout.write(Y.stringify({ groups: docs.flatMap((d) => d.spec.groups) }));
	' "$1" "$T_ROOT/tests/k8s/node_modules/yaml" >"$T_DIR/rules.yml" &&
	    promtool check rules "$T_DIR/rules.yml"
}
if command -v promtool >/dev/null 2>&1; then
	t_check "PrometheusRule passes promtool check rules" \
	    rules_ok "$T_DIR/prod.yaml"
else
	_t_say "promtool not installed (Debian package prometheus): rules not parsed"
fi

t_eq "overlays dev and prod exist" "dev prod" \
    "$(cd k8s/overlays && ls -d dev prod 2>/dev/null | xargs)"

# --- the checks must be able to fail -------------------------------------
# A copy of the dev overlay with one mistake per check; each validator must
# reject it and name the mistake.
bad="$T_DIR/bad"
mkdir -p "$bad"
# kustomize wants a relative path to another kustomization.
devrel=$(realpath --relative-to="$bad" "$T_ROOT/k8s/overlays/dev")
cat >"$bad/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $devrel
patches:
  - target: {kind: Deployment, name: atcal-consumer}
    patch: |
      - op: replace
        path: /spec/replicas
        value: "two"
      - op: remove
        path: /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem
  - target: {kind: ConfigMap, name: atcal-consumer-env}
    patch: |
      - op: remove
        path: /data/SOURCE_URL
      - op: add
        path: /data/SOURCE_URLL
        value: wss://example.invalid/subscribe
  - target: {kind: Deployment, name: atcal-processor}
    patch: |
      - op: test
        path: /spec/template/spec/containers/0/env/1/name
        value: API_KEY
      - op: replace
        path: /spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/key
        value: API_KEYY
EOF

expect_reject() {
	local mode=$1 pattern=$2 out
	out=$(validate "$mode" "$T_DIR/bad.yaml" "$T_ROOT/k8s/overlays/dev")
	if [ $? -eq 0 ]; then
		echo "validator accepted the broken overlay"
		return 1
	fi
	printf '%s\n' "$out" | grep -E -- "$pattern" >/dev/null || {
		printf 'rejected, but without /%s/:\n%s\n' "$pattern" "$out"
		return 1
	}
}

if t_check "broken overlay renders" render "$bad" "$T_DIR/bad.yaml"; then
	t_check "schema check rejects replicas: \"two\"" \
	    expect_reject schema 'atcal-consumer.*replicas must be integer'
	t_check "env check rejects a missing variable (SOURCE_URL)" \
	    expect_reject env 'reads SOURCE_URL but it is neither set'
	t_check "env check rejects a misspelt variable (SOURCE_URLL)" \
	    expect_reject env 'SOURCE_URLL is set but consumer never reads it'
	t_check "env check rejects a missing Secret key (API_KEYY)" \
	    expect_reject env 'has no key API_KEYY'
	t_check "policy check rejects a writable root filesystem" \
	    expect_reject policy 'consumer.*readOnlyRootFilesystem'
fi

# --- Dockerfiles (static: no Docker engine runs here) ----------------------
dockerfile_ok() {
	local svc=$1 f=k8s/docker/$1.Dockerfile
	[ -f "$f" ] || { echo "$f missing"; return 1; }
	grep -Eq '^FROM debian:bookworm(-slim)?(@sha256:[0-9a-f]+)? AS build$' "$f" ||
	    { echo "$f: no Debian 12 build stage"; return 1; }
	[ "$(grep -c '^FROM ' "$f")" -ge 2 ] ||
	    { echo "$f: not multi-stage"; return 1; }
	grep -Eq "make .*build/bin/$svc" "$f" ||
	    { echo "$f: does not build build/bin/$svc with make"; return 1; }
	grep -Eq "^COPY --from=build .*build/bin/$svc " "$f" ||
	    { echo "$f: runtime stage does not copy the binary"; return 1; }
	# The last USER is numeric and not root (runAsNonRoot needs a number).
	[ "$(grep '^USER ' "$f" | tail -n 1 | awk '{print $2}' |
	    cut -d: -f1)" = 10001 ] || { echo "$f: USER is not 10001"; return 1; }
	grep -Eq "^ENTRYPOINT \[\"/usr/local/bin/$svc\"\]" "$f" ||
	    { echo "$f: ENTRYPOINT is not the binary"; return 1; }
	# The build target must exist in the Makefile.
	make -n "build/bin/$svc" >/dev/null ||
	    { echo "make has no target build/bin/$svc"; return 1; }
}
for svc in consumer processor api; do
	t_check "$svc Dockerfile: bookworm, multi-stage, make, non-root" \
	    dockerfile_ok "$svc"
done
# The build stage's COPY lines are its whole context: copy exactly those
# paths into an empty directory and build there with the stage's make
# command, then check that every library the binary needs (DT_NEEDED) comes
# from a package the runtime stage installs.
image_builds() {
	local svc=$1 f=k8s/docker/$1.Dockerfile ctx=$T_DIR/ctx-$1
	local stage srcs lib pkg rt missing=
	mkdir -p "$ctx"
	stage=$(awk '/^FROM .* AS build$/ {on = 1; next} /^FROM / {on = 0}
	    on' "$f")
	srcs=$(printf '%s\n' "$stage" | awk '$1 == "COPY" && $2 !~ /^--/ {
	    for (i = 2; i < NF; i++) print $i }')
	[ -n "$srcs" ] || { echo "$f: build stage copies nothing"; return 1; }
	for p in $srcs; do
		cp -r "${p%/}" "$ctx/" || return 1
	done
	(cd "$ctx" && make -j2 WERROR=1 "build/bin/$svc") >"$ctx.out" 2>&1 ||
	    { tail -n 20 "$ctx.out"; return 1; }
	rt=$(awk '/^FROM / {n++} n == 2' "$f")
	for lib in $(readelf -d "$ctx/build/bin/$svc" |
	    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		# Native architecture only (libc6-i386 also ships libm.so.6).
		pkg=$(dpkg -S "*/$lib" 2>/dev/null |
		    grep -v -e '^lib[a-z0-9]*-i386' -e '^lib[a-z0-9]*-x32' |
		    head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || { echo "$lib: no package owns it"; return 1; }
		[ "$pkg" = libc6 ] && continue
		printf '%s\n' "$rt" | grep -Eq "(^|[[:space:]])$pkg([[:space:]]|$)" ||
		    missing="$missing $pkg($lib)"
	done
	[ -z "$missing" ] ||
	    { echo "$f: runtime stage lacks:$missing"; return 1; }
}
for svc in consumer processor api; do
	t_check "$svc image: build stage context builds, runtime has its libraries" \
	    image_builds "$svc"
done
t_check "api image ships schema/ where SCHEMA_DIR points" \
    grep -Eq '^COPY schema/ /usr/share/atcal/schema/$' k8s/docker/api.Dockerfile
t_check "SCHEMA_DIR in the api ConfigMap matches the image" \
    grep -qx 'SCHEMA_DIR=/usr/share/atcal/schema' k8s/base/env/api.env

t_done
