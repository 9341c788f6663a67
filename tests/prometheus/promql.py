#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# PromQL inventory of grafana/: lists every expression the dashboards and
# the alert rules use, derives k8s/base/prometheusrule.yaml from
# grafana/alerts.yml, and checks the two agree. Used by
# tests/integration/test_prometheus.sh; needs python3-yaml (Debian).
#
#   promql.py exprs GRAFANA_DIR RATE_INTERVAL   JSON lines {where, expr, query
#                                               [, whole]}
#   promql.py k8s RULES_FILE                    PrometheusRule YAML on stdout
#   promql.py check-sync RULES_FILE K8S_FILE    exit 1 and say why if they differ
#   promql.py lint GRAFANA_DIR                  dashboard/provisioning structure
#
# "query" is what must return at least one series on a scraped pipeline:
# for dashboards the target with Grafana's interval macros replaced by
# RATE_INTERVAL; for an alert, its SIGNAL (the rule must be written as
# "(SIGNAL) OP NUMBER", see grafana/alerts.yml; anything else is reported as
# an error, so the convention cannot rot); for a recording rule its expr.
import json
import os
import re
import sys

import yaml

CMP = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?"
                 r"(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*$")
MACROS = ("$__rate_interval", "${__rate_interval}", "$__interval",
          "${__interval}")


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def closing_paren(s, start):
    """Index of the ')' matching the '(' at start, skipping string literals;
    -1 when unbalanced."""
    depth, i, quote = 0, start, None
    while i < len(s):
        c = s[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def alert_signal(expr):
    """SIGNAL of "(SIGNAL) OP NUMBER", or None when expr is not that shape."""
    e = expr.strip()
    m = CMP.search(e)
    if not m or not e.startswith("("):
        return None
    head = e[:m.start()].rstrip()
    if closing_paren(head, 0) != len(head) - 1:
        return None
    return head[1:-1].strip()


def load_rules(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        fail(f"{path}: no groups")
    return doc["groups"]


def panels(items):
    for p in items or []:
        yield p
        yield from panels(p.get("panels"))


def dashboard_exprs(path, rate):
    with open(path, encoding="utf-8") as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            fail(f"{path}: {e}")
    name = os.path.basename(path)
    out = []
    for p in panels(d.get("panels")):
        for t in p.get("targets") or []:
            expr = t.get("expr")
            if expr is None:
                continue
            q = expr
            for m in MACROS:
                q = q.replace(m, rate)
            if "$" in q:
                fail(f"{name}: panel {p.get('title')!r}: unsupported "
                     f"variable in {expr!r}")
            where = f"{name}: panel {p.get('title')!r} ref {t.get('refId')}"
            out.append({"where": where, "expr": expr, "query": q})
            out += part_rows(where, q)
    for v in (d.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        # label_values(METRIC, LABEL): METRIC must have series.
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_]\w*\s*\)\s*",
                         q or "")
        out.append({"where": f"{name}: variable {v.get('name')!r}",
                    "expr": q, "query": m.group(1) if m else q})
    return out


NAME_RE = re.compile(r'__name__\s*=~\s*"([A-Za-z0-9_:|]+)"')
# Aggregations count as keywords: "max by (x) (...)" has no "(" after max.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "sum",
            "min", "max", "avg", "count", "stddev", "stdvar", "topk",
            "bottomk", "quantile", "count_values", "group"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def _skip(s, i, close):
    """Index after the bracket closing at s[i] (string literals skipped)."""
    depth, quote = 0, None
    opening = s[i]
    while i < len(s):
        c = s[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == opening:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(s)


def selectors(q):
    """Every vector selector of a PromQL expression (metric{matchers} or
    {matchers}), by a small lexer: function names, keywords, grouping label
    lists, strings, ranges and numbers are skipped."""
    out, i = [], 0
    while i < len(q):
        c = q[i]
        if c in "\"'`":
            j = i + 1
            while j < len(q) and q[j] != c:
                j += 2 if q[j] == "\\" else 1
            i = j + 1
        elif c == "[":
            i = _skip(q, i, "]")
        elif c == "{":
            j = _skip(q, i, "}")
            out.append(q[i:j])
            i = j
        elif c.isalpha() or c in "_:":
            j = i
            while j < len(q) and (q[j].isalnum() or q[j] in "_:"):
                j += 1
            word, k = q[i:j], j
            while k < len(q) and q[k].isspace():
                k += 1
            nxt = q[k] if k < len(q) else ""
            if word in GROUPING:
                i = _skip(q, k, ")") if nxt == "(" else k
            elif word.lower() in KEYWORDS or nxt == "(":
                i = j
            elif nxt == "{":
                i = _skip(q, k, "}")
                out.append(word + q[k:i])
            else:
                out.append(word)
                i = j
        elif c.isdigit() or c == ".":
            while i < len(q) and (q[i].isalnum() or q[i] in "._"):
                i += 1
        else:
            i += 1
    return out


def part_rows(where, query):
    """Rows for the parts of one expression that must each have series: a
    branch of "A or B" or a "* 0" fallback can hide a misspelt metric from
    the whole expression's check, so every selector is checked on its own,
    and so is each plain name of a __name__ regex (one existing name is
    enough for such a selector to match)."""
    rows, seen = [], set()
    for sel in selectors(query):
        sel = " ".join(sel.split())
        if sel not in seen:
            seen.add(sel)
            rows.append({"where": f"{where}: selector {sel}", "expr": sel,
                         "query": sel})
    for m in NAME_RE.finditer(query):
        for n in m.group(1).split("|"):
            if n not in seen:
                seen.add(n)
                rows.append({"where": f"{where}: metric {n}", "expr": n,
                             "query": n})
    return rows


def rule_exprs(path):
    out = []
    for g in load_rules(path):
        for r in g.get("rules") or []:
            expr = r.get("expr", "")
            if "alert" in r:
                where = f"{os.path.basename(path)}: alert {r['alert']}"
                sig = alert_signal(expr)
                if sig is None:
                    fail(f"{where}: expr is not of the form "
                         f"\"(SIGNAL) OP NUMBER\":\n{expr}")
                out.append({"where": where, "expr": expr, "query": sig,
                            "whole": expr})
                out += part_rows(where, sig)
            else:
                where = f"{os.path.basename(path)}: record {r.get('record')}"
                out.append({"where": where, "expr": expr, "query": expr})
    return out


def cmd_exprs(gdir, rate):
    ddir = os.path.join(gdir, "dashboards")
    files = sorted(f for f in os.listdir(ddir) if f.endswith(".json"))
    if not files:
        fail(f"{ddir}: no dashboards")
    rows = []
    for f in files:
        rows += dashboard_exprs(os.path.join(ddir, f), rate)
    rows += rule_exprs(os.path.join(gdir, "alerts.yml"))
    for r in rows:
        print(json.dumps(r))


class BlockDumper(yaml.SafeDumper):
    pass


def _str(dumper, s):
    style = "|" if "\n" in s else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)


BlockDumper.add_representer(str, _str)

K8S_HEAD = """\
# GENERATED from grafana/alerts.yml by `tests/prometheus/promql.py k8s
# grafana/alerts.yml`: edit the rules there and regenerate; the groups must
# match exactly (tests/integration/test_prometheus.sh checks it).
#
# The ServiceMonitors (monitoring.yaml) give every series namespace, pod and
# job (= Service name), which the rules aggregate on.
"""


def cmd_k8s(rules):
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "atcal-alerts",
            "labels": {"app.kubernetes.io/part-of": "atcal"},
        },
        "spec": {"groups": load_rules(rules)},
    }
    sys.stdout.write(K8S_HEAD)
    sys.stdout.write(yaml.dump(obj, Dumper=BlockDumper, sort_keys=False,
                               default_flow_style=False, width=78))


def cmd_check_sync(rules, k8s):
    want = load_rules(rules)
    with open(k8s, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f)
                if isinstance(d, dict) and d.get("kind") == "PrometheusRule"]
    if len(docs) != 1:
        fail(f"{k8s}: expected one PrometheusRule, found {len(docs)}")
    got = (docs[0].get("spec") or {}).get("groups")
    if got != want:
        a = json.dumps(want, indent=1, sort_keys=True).splitlines()
        b = json.dumps(got, indent=1, sort_keys=True).splitlines()
        import difflib
        print("\n".join(difflib.unified_diff(a, b, rules, k8s, lineterm="")))
        fail(f"{k8s} differs from {rules}: regenerate with "
             f"tests/prometheus/promql.py k8s {rules} > {k8s}")


PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "bargauge", "table",
               "text", "heatmap"}


def cmd_lint(gdir):
    """Structure Grafana needs to load the files and that the PromQL check
    relies on: unique dashboard uids and titles, unique panel ids, every
    query through the "datasource" variable, panels inside the 24-column
    grid, provisioning files pointing where the README says."""
    errs = []
    ddir = os.path.join(gdir, "dashboards")
    uids, titles = {}, {}
    for f in sorted(os.listdir(ddir)):
        if not f.endswith(".json"):
            continue
        with open(os.path.join(ddir, f), encoding="utf-8") as fh:
            try:
                d = json.load(fh)
            except json.JSONDecodeError as e:
                errs.append(f"{f}: {e}")
                continue
        for key, seen in (("uid", uids), ("title", titles)):
            v = d.get(key)
            if not isinstance(v, str) or not v:
                errs.append(f"{f}: no {key}")
            elif v in seen:
                errs.append(f"{f}: {key} {v!r} also in {seen[v]}")
            else:
                seen[v] = f
        if not isinstance(d.get("schemaVersion"), int):
            errs.append(f"{f}: no schemaVersion")
        vars_ = [v.get("name") for v in
                 (d.get("templating") or {}).get("list") or []]
        if "datasource" not in vars_:
            errs.append(f"{f}: no datasource variable")
        ids = set()
        for p in panels(d.get("panels")):
            t = p.get("title")
            if p.get("id") in ids:
                errs.append(f"{f}: panel {t!r}: duplicate id {p.get('id')}")
            ids.add(p.get("id"))
            if p.get("type") not in PANEL_TYPES:
                errs.append(f"{f}: panel {t!r}: type {p.get('type')!r}")
            g = p.get("gridPos") or {}
            if not all(isinstance(g.get(k), int) for k in "hwxy") or \
                    g["x"] + g["w"] > 24:
                errs.append(f"{f}: panel {t!r}: bad gridPos {g}")
            if p.get("type") == "row":
                continue
            if not p.get("targets"):
                errs.append(f"{f}: panel {t!r}: no queries")
            for q in [p] + list(p.get("targets") or []):
                ds = q.get("datasource") or {}
                if ds.get("uid") != "${datasource}":
                    errs.append(f"{f}: panel {t!r}: data source {ds} is "
                                f"not the variable ${{datasource}}")
            refs = [q.get("refId") for q in p.get("targets") or []]
            if len(set(refs)) != len(refs) or None in refs:
                errs.append(f"{f}: panel {t!r}: refIds {refs}")
    if len(uids) < 4:
        errs.append(f"{ddir}: {len(uids)} dashboards, want 4")
    prov = os.path.join(gdir, "provisioning")
    with open(os.path.join(prov, "datasources", "atcal.yaml"),
              encoding="utf-8") as fh:
        ds = yaml.safe_load(fh)
    if [d.get("type") for d in ds.get("datasources") or []] != \
            ["prometheus"]:
        errs.append("provisioning/datasources: want one prometheus")
    with open(os.path.join(prov, "dashboards", "atcal.yaml"),
              encoding="utf-8") as fh:
        dp = yaml.safe_load(fh)
    provs = dp.get("providers") or []
    if len(provs) != 1 or provs[0].get("type") != "file" or \
            not (provs[0].get("options") or {}).get("path"):
        errs.append("provisioning/dashboards: want one file provider "
                    "with a path")
    if errs:
        fail("\n".join(errs))


def main(argv):
    if len(argv) == 4 and argv[1] == "exprs":
        cmd_exprs(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "lint":
        cmd_lint(argv[2])
    elif len(argv) == 3 and argv[1] == "k8s":
        cmd_k8s(argv[2])
    elif len(argv) == 4 and argv[1] == "check-sync":
        cmd_check_sync(argv[2], argv[3])
    else:
        fail("usage: promql.py exprs GRAFANA_DIR RATE_INTERVAL | "
             "k8s RULES_FILE | check-sync RULES_FILE K8S_FILE | lint GRAFANA_DIR")


if __name__ == "__main__":
    main(sys.argv)
