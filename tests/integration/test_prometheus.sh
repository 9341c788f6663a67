#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# The dashboards and alert rules in grafana/ against a real Prometheus (the
# Debian package's binary, own config and storage in $T_DIR, loopback port)
# scraping the running pipeline (tests/prometheus/pipeline.sh: consumer,
# processor, api with calendar traffic) and RabbitMQ's Prometheus plugin.
#
# Every PromQL expression of the dashboards and rules
# (tests/prometheus/promql.py exprs) is evaluated through /api/v1/query and
# must parse and return at least one series; Grafana's $__rate_interval
# becomes 10s (scrapes are 1 s apart). Alerts are written "(SIGNAL) OP
# NUMBER" and are empty while healthy, so each is checked twice: the whole
# expression must parse, and SIGNAL (the expression with its final
# comparison cut off) must return series. So must every vector selector
# of every expression on its own (an "A or B" or "or ... * 0" would hide a
# misspelt metric in one branch), and every name in a __name__ regex.
# The rules file is also loaded into this Prometheus, and every rule must
# evaluate without error.
# Static checks: promtool check rules, k8s PrometheusRule identical to
# grafana/alerts.yml, dashboard and provisioning structure.

source tests/lib/common.sh
t_init prometheus

{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 ||
	t_skip "prometheus/promtool not installed (Debian package prometheus)"
# Debian's python3-yaml belongs to /usr/bin/python3, which may not be the
# python3 first on PATH.
PY=python3
/usr/bin/python3 -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
$PY -c 'import yaml' 2>/dev/null ||
	t_skip "python3 yaml module missing (Debian package python3-yaml)"

PQ=tests/prometheus/promql.py
RABBIT_METRICS=${T_RABBIT_METRICS:-127.0.0.1:15693}

# --- static ---------------------------------------------------------------
t_check "promtool check rules grafana/alerts.yml" \
    promtool check rules grafana/alerts.yml
t_check "k8s PrometheusRule has exactly the groups of grafana/alerts.yml" \
    $PY "$PQ" check-sync grafana/alerts.yml k8s/base/prometheusrule.yaml
t_check "dashboards and provisioning are well formed" \
    $PY "$PQ" lint grafana
listed() {
	$PY "$PQ" exprs grafana 10s >"$T_DIR/exprs.jsonl"
}
t_check "every expression listed (alerts in \"(SIGNAL) OP NUMBER\" form)" \
    listed
covered() {
	local files
	files=$(jq -r '.where | split(":")[0]' "$T_DIR/exprs.jsonl" |
	    sort -u | xargs)
	[ "$files" = "alerts.yml api.json ingestion.json processing.json rabbitmq.json" ] ||
	    { echo "sources: $files"; return 1; }
	[ "$(jq -s 'map(select(.whole)) | length' "$T_DIR/exprs.jsonl")" -eq 7 ]
}
t_check "all four dashboards and all seven alerts are covered" covered

# --- the running pipeline ---------------------------------------------------
source tests/prometheus/pipeline.sh
p_skip_unless_ready
curl -s -o /dev/null -m 5 "http://$RABBIT_METRICS/metrics/per-object" ||
	t_skip "RabbitMQ Prometheus plugin not answering on $RABBIT_METRICS"
p_start
# What the kubelet does in Kubernetes: probe readiness every second (the
# api's readiness alert is made of these answers).
t_start prober bash -c 'while :; do
    curl -s -o /dev/null -m 2 "$0/health/readiness"; sleep 1; done' "$P_API"
p_feed
t_check "the traffic reaches its end state (update, delete, 424 retry, park)" \
    t_wait_for 90 p_settled

PPORT=$(t_free_port) || t_done
PROM=http://127.0.0.1:$PPORT
cat >"$T_DIR/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $T_ROOT/grafana/alerts.yml
scrape_configs:
  - job_name: atcal-consumer
    static_configs: [{targets: ["$P_CONSUMER_METRICS"]}]
  - job_name: atcal-processor
    static_configs: [{targets: ["$P_PROCESSOR_METRICS"]}]
  - job_name: atcal-api
    static_configs: [{targets: ["${P_API#http://}"]}]
  - job_name: rabbitmq
    metrics_path: /metrics/per-object
    static_configs: [{targets: ["$RABBIT_METRICS"]}]
EOC
t_check "promtool check config" promtool check config "$T_DIR/prometheus.yml"
t_start prometheus prometheus --config.file="$T_DIR/prometheus.yml" \
    --storage.tsdb.path="$T_DIR/tsdb" --web.listen-address="127.0.0.1:$PPORT" \
    --storage.tsdb.retention.time=1h
t_wait_http "$PROM/-/ready" 30

query() {	# QUERY: the /api/v1/query answer
	curl -s -m 10 --data-urlencode "query=$1" "$PROM/api/v1/query"
}

targets_up() {
	query 'count(up == 1)' | jq -e '.data.result[0].value[1] == "4"'
}
show_targets() {
	curl -s "$PROM/api/v1/targets" | jq -c '.data.activeTargets[] |
	    {job: .labels.job, health, lastError}'
	return 1
}
# rate() over 10s needs samples 10 s apart: wait until every target has
# been scraped healthily for 15 s.
scraped_long() {
	query 'count(count_over_time(up[20s]) >= 15) == 4' |
	    jq -e '.data.result | length == 1'
}
t_check "Prometheus scrapes consumer, processor, api and RabbitMQ" \
    t_wait_for 30 targets_up || show_targets
t_check "15 s of scrapes" t_wait_for 40 scraped_long

rules_evaluated() {
	curl -s -m 10 "$PROM/api/v1/rules" | jq -e '[.data.groups[].rules[]] |
	    length == 7 and all(.lastEvaluation != "0001-01-01T00:00:00Z")'
}
t_check "Prometheus loaded and evaluated all 7 alert rules" \
    t_wait_for 20 rules_evaluated
rules_healthy() {
	local bad
	bad=$(curl -s -m 10 "$PROM/api/v1/rules" | jq -r '.data.groups[].rules[] |
	    select(.health != "ok") | "\(.name): \(.health) \(.lastError)"')
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}
t_check "every rule evaluates without error" rules_healthy

# check_expr WHERE QUERY [parse]: prints a line and returns 1 when QUERY
# does not evaluate, or (without "parse") returns no series.
check_expr() {
	local out
	out=$(query "$2")
	if ! jq -e '.status == "success"' <<<"$out" >/dev/null 2>&1; then
		printf '%s: does not evaluate: %s\n    %s\n' "$1" \
		    "$(jq -r '.error // "no answer"' <<<"$out" 2>/dev/null)" "$2"
		return 1
	fi
	[ "${3:-}" = parse ] && return 0
	if ! jq -e '.data.result | length > 0' <<<"$out" >/dev/null; then
		printf '%s: no series\n    %s\n' "$1" "$2"
		return 1
	fi
}

# check_file SOURCE [LIST]: every expression of one dashboard or the rules
# file (from LIST, default the list of grafana/).
check_file() {
	local where whole q bad=0 n=0
	# \x1f separates: tabs would merge around the empty "whole".
	while IFS=$'\x1f' read -r where whole q; do
		n=$((n + 1))
		if [ -n "$whole" ]; then
			check_expr "$where (whole expression)" "$whole" parse ||
			    bad=$((bad + 1))
		fi
		check_expr "$where" "$q" || bad=$((bad + 1))
	done < <(jq -r --arg f "$1" 'select(.where | startswith($f + ":")) |
	    [.where, (.whole // "" | gsub("\n"; " ")), (.query | gsub("\n"; " "))] |
	    join("\u001f")' "${2:-$T_DIR/exprs.jsonl}")
	echo "$n expressions, $bad failing"
	[ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}

for f in ingestion.json processing.json api.json rabbitmq.json alerts.yml; do
	t_check "$f: every expression parses and returns series" check_file "$f"
done

# The checker itself must reject what it exists to catch.
fails() {
	! "$@"
}
t_check "checker rejects an unknown metric" \
    fails check_expr probe 'sum(rate(atcal_no_such_metric_total[10s]))'
t_check "checker rejects a syntax error" \
    fails check_expr probe 'sum by (le (rate(x[10s]))' parse
t_check "checker rejects a selector whose label value matches nothing" \
    fails check_expr probe 'max(atcal_consumer_lag_seconds{job="atcal-consumerx"})'
# A misspelt metric in the "or ... * 0" fallback of the error-rate alert
# leaves its SIGNAL returning series: only the per-selector check sees it.
mkdir -p "$T_DIR/bad/dashboards"
cp grafana/dashboards/*.json "$T_DIR/bad/dashboards/"
sed 's/events_processed_total\[5m\])) \* 0/events_processed_totl[5m])) * 0/' \
    grafana/alerts.yml >"$T_DIR/bad/alerts.yml"
$PY "$PQ" exprs "$T_DIR/bad" 10s >"$T_DIR/bad.jsonl"
t_check "the misspelling is in place" grep -q processed_totl "$T_DIR/bad.jsonl"
t_check "checker finds a misspelt metric hidden in an \"or ... * 0\" branch" \
    fails check_file alerts.yml "$T_DIR/bad.jsonl"

t_done
