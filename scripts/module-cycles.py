#!/usr/bin/env python3
"""Prints the import graph of each crate's top-level modules and every cycle in it.

A module's imports are the `crate::<module>` paths in its files (and `super::<module>` from a
file directly under src/). Exit status 1 when a crate has a cycle.

    python3 scripts/module-cycles.py            # perf-schema, perf-harness, cargo-perf
"""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = ["perf-schema", "perf-macros", "perf-harness", "cargo-perf"]


def top_module(src, path):
    rel = path.relative_to(src).with_suffix("")
    return rel.parts[0]


def graph(crate):
    src = ROOT / crate / "src"
    edges = {}
    for path in src.rglob("*.rs"):
        module = top_module(src, path)
        if module in ("lib", "main"):
            continue
        text = path.read_text()
        # Unit tests may reach anywhere; only the code's own imports count.
        text = text.split("#[cfg(test)]")[0]
        targets = set(re.findall(r"crate::([a-z_][a-z0-9_]*)", text))
        if path.parent == src:
            targets |= set(re.findall(r"super::([a-z_][a-z0-9_]*)", text))
        edges.setdefault(module, set()).update(t for t in targets if t != module)
    modules = set(edges)
    return {m: {t for t in ts if t in modules} for m, ts in edges.items()}


def cycles(edges):
    found, index, low, stack, on, counter = [], {}, {}, [], set(), [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


status = 0
for crate in CRATES:
    edges = graph(crate)
    circles = cycles(edges)
    print(f"{crate}: {len(edges)} modules, {'no cycle' if not circles else f'{len(circles)} cycle(s)'}")
    for comp in circles:
        status = 1
        print("  cycle among:", ", ".join(comp))
        for m in comp:
            print(f"    {m} -> {', '.join(sorted(edges[m] & set(comp)))}")
sys.exit(status)
