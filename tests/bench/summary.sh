#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Prints the Markdown results table from the JSON files `make bench` wrote
# in DIR (default build/bench). Missing parts are left out.

set -u
D=${1:-build/bench}

echo "| benchmark | result |"
echo "|---|---|"
if [ -f "$D/decode.json" ]; then
	jq -r '
	  "| decode, verify (consumer bench, 1 core) | \(.verify.frames_per_s) frames/s, \(.verify.mb_per_s) MB/s |",
	  "| decode, no verify | \(.no_verify.frames_per_s) frames/s, \(.no_verify.mb_per_s) MB/s |",
	  "| floor: SHA-256 of every CAR block | \(.floor.sha256_frames_per_s) frames/s (ours: \(.ratio_to_sha256 * 100 | round / 100)x) |",
	  "| floor: SHA-256 + CBOR walk of every block | \(.floor.floor_frames_per_s) frames/s (ours: \(.ratio_to_floor * 100 | round / 100)x) |",
	  "| ops floor: frame walk + hash/walk of op records | \(.floor.ops_floor_frames_per_s) frames/s (ours: \(.ratio_to_ops_floor * 100 | round / 100)x) |"' \
	    "$D/decode.json"
fi
if [ -f "$D/js_decode.jsonl" ] && [ -f "$D/decode.json" ]; then
	jq -r --slurpfile d "$D/decode.json" '$d[0] as $c |
	  "| \(.case) (JS, \(.node)), verify=\(.verify) | \(.frames_per_s) frames/s; ours \((if .verify then $c.verify.frames_per_s else $c.no_verify.frames_per_s end) / .frames_per_s * 10 | round / 10)x faster |"' \
	    "$D/js_decode.jsonl"
fi
if [ -f "$D/jetstream.jsonl" ]; then
	jq -r '"| Jetstream \(.case) | \(.events_per_s) events/s, \(.in_mb_per_s) MB/s in |"' \
	    "$D/jetstream.jsonl"
fi
if [ -f "$D/api.json" ]; then
	jq -r '
	  "| API batch endpoint into Postgres (\(.batch.batches) x 500 ops, \(.concurrency) in flight, \(.api_workers) workers) | \(.batch.ops_per_s) ops/s |",
	  "| API single POST /api/integration/events | p50 \(.single.p50_ms) ms, p99 \(.single.p99_ms) ms |"' \
	    "$D/api.json"
fi
if [ -f "$D/e2e.json" ]; then
	jq -r '.cases[] |
	  "| e2e \(.case): offered \(.offered_ops_per_s) ops/s | committed \(.committed_ops_per_s) ops/s, zero loss \(.zero_loss), latency p50/p95/p99 \(.db.p50_ms)/\(.db.p95_ms)/\(.db.p99_ms) ms, max queue \(.main_queue_max_depth) |",
	  "| e2e \(.case): CPU % | consumer \(.cpu_percent.consumer), processor \(.cpu_percent.processor), api \(.cpu_percent.api), postgres \(.cpu_percent.postgres_shared), rabbitmq \(.cpu_percent.rabbitmq_shared) |",
	  "| e2e \(.case): RSS kB | consumer idle \(.rss_kb.consumer_idle) / peak \(.rss_kb.consumer_vmhwm), processor idle \(.rss_kb.processor_idle) / peak \(.rss_kb.processor_vmhwm), api peak (all workers) \(.rss_kb.api_peak_sampled_all_workers) |"' \
	    "$D/e2e.json"
fi
