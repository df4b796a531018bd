#!/usr/bin/env python3
"""Prints the import graph of each crate's modules, level by level, and every cycle in it.

At each level (the crate root, and every module with submodules) the nodes are that module's
children; `a -> b` when code under `a` names something under `b` (a `crate::…` path, or a
`super::…` path resolved from the file's module). Unit tests (`#[cfg(test)]` and after) may
reach anywhere and are not counted. Exit status 1 when any level has a cycle.

    python3 scripts/module-cycles.py            # every crate of the workspace
"""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = ["perf-schema", "perf-macros", "perf-harness", "cargo-perf"]


def module_of(src, path):
    """`src/exec/runner.rs` → ("exec", "runner"); `src/a/mod.rs` → ("a",); lib/main → ()."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
        parts = parts[:-1]
    return tuple(parts)


def imports(src, path, modules):
    """The modules a file names, each resolved to the longest known module path."""
    me = module_of(src, path)
    # The file's own module is `me`; `super` is its parent (for mod.rs the same rule holds).
    text = path.read_text().split("#[cfg(test)]")[0]
    paths = [(m.group(1), m.group(2)) for m in
             re.finditer(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)", text)]
    # `use crate::{a::B, c}` and `use super::{a, b}`: each item's own path.
    for m in re.finditer(r"\b(crate|super)::\{([^}]*)\}", text):
        paths += [(m.group(1), "::" + item.strip()) for item in m.group(2).split(",")
                  if re.match(r"[a-z_]", item.strip())]
    found = set()
    for root, rest in paths:
        base = () if root == "crate" else me[:-1]
        names = tuple(n for n in rest.strip(":").split("::") if re.fullmatch(r"[a-z_][a-z0-9_]*", n))
        full = base + names
        for k in range(len(full), 0, -1):
            if full[:k] in modules:
                found.add(full[:k])
                break
    return me, found


def graphs(crate):
    src = ROOT / crate / "src"
    files = list(src.rglob("*.rs"))
    modules = {module_of(src, p) for p in files}
    levels = {}
    for path in files:
        me, targets = imports(src, path, modules)
        for t in targets:
            # The level is the longest common ancestor; the nodes its children on each side.
            k = 0
            while k < min(len(me), len(t)) and me[k] == t[k]:
                k += 1
            if k >= len(me) or k >= len(t):
                continue  # a module naming its own ancestor or descendant
            parent = me[:k]
            levels.setdefault(parent, {}).setdefault(me[k], set()).add(t[k])
    for m in modules:
        if m:
            levels.setdefault(m[:-1], {}).setdefault(m[-1], set())
    return levels


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
    levels = graphs(crate)
    report = []
    for parent in sorted(levels):
        for comp in cycles(levels[parent]):
            where = "::".join(parent) or "the crate root"
            report.append(f"  cycle in {where} among: {', '.join(comp)}")
            for m in comp:
                report.append(f"    {m} -> {', '.join(sorted(levels[parent][m] & set(comp)))}")
    count = sum(len(v) for v in levels.values())
    print(f"{crate}: {count} modules at {len(levels)} levels, "
          f"{'no cycle' if not report else 'cycles:'}")
    print("\n".join(report)) if report else None
    status |= bool(report)
sys.exit(status)
