#!/usr/bin/env python3
"""`make layers`: every #include "..." in the layered folders goes down.

Reads the layer list (helper/LAYERS: NAME FOLDER [: USES...], lowest
first), then every .c and .h file in those folders, and fails, naming the
file and line, when a file includes

  - a header that is in no layer's folder (or in two: names must be unique,
    every layer folder is on the compiler's include path),
  - a header of a layer it may not use (a higher one, or a sibling not
    named after its colon), or a header of a layer of which it may use
    only some files (LAYER/FILE.h),
  - a header that closes a cycle between files (x.c and x.h are one
    file here: including x.h uses what x.c defines), also inside a folder.

Usage: layers.py [ROOT]  (ROOT: the tree, default the one holding this
script). Exit 0 clean, 1 with one line per fault on stderr, 2 when the
layer list itself is wrong.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


class LayerError(Exception):
    pass


def read_layers(root):
    path = os.path.join(root, "helper", "LAYERS")
    layers = []  # [(name, folder, uses: set of layer names, files: {layer: set of files})]
    seen = {}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            head, _, tail = line.partition(":")
            parts = head.split()
            if len(parts) != 2:
                raise LayerError(f"{path}:{n}: want NAME FOLDER [: USES...], got {raw.strip()!r}")
            name, folder = parts
            if name in seen:
                raise LayerError(f"{path}:{n}: layer {name} listed twice")
            uses, files = set(), {}
            for u in tail.split():
                lname, _, fname = u.partition("/")
                if lname not in seen:
                    raise LayerError(f"{path}:{n}: {name} may use only layers listed above it, not {lname}")
                if fname:
                    files.setdefault(lname, set()).add(fname)
                else:
                    uses.add(lname)
            seen[name] = folder
            layers.append((name, folder.rstrip("/"), uses, files))
    return layers


def scan(root, layers):
    """Returns (faults, files): files maps a path to its layer, its
    includes [(line, header path)]."""
    faults = []
    headers = {}  # basename -> [path]
    files = {}
    for name, folder, _, _ in layers:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            faults.append(f"helper/LAYERS: {name}'s folder {folder} does not exist")
            continue
        for fn in sorted(os.listdir(d)):
            if fn.endswith((".c", ".h")):
                p = f"{folder}/{fn}"
                files[p] = (name, [])
                if fn.endswith(".h"):
                    headers.setdefault(fn, []).append(p)
    for h, ps in sorted(headers.items()):
        if len(ps) > 1:
            faults.append(f"{ps[1]}: header name {h} also in {ps[0]} (every layer folder is on the include path)")
    for p in sorted(files):
        with open(os.path.join(root, p), encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m:
                    files[p][1].append((n, m.group(1)))
    return faults, files, headers


def resolve(p, inc, files, headers):
    """The header path an include names: beside the file, as a path from
    the tree's helper/ folder (common/util.h), or by name in any layer."""
    here = os.path.normpath(os.path.join(os.path.dirname(p), inc))
    if here in files:
        return here
    rel = os.path.normpath(os.path.join("helper", inc))
    if rel in files:
        return rel
    ps = headers.get(os.path.basename(inc), [])
    if "/" not in inc and len(ps) == 1:
        return ps[0]
    return None


def unit(p):
    """x.c and x.h are one unit."""
    return p[:-2]


def check(root):
    layers = read_layers(root)
    by_name = {name: (folder, uses, only) for name, folder, uses, only in layers}
    faults, files, headers = scan(root, layers)
    edges = {}  # unit -> {unit: (file, line)}
    for p in sorted(files):
        layer, incs = files[p]
        _, uses, only = by_name[layer]
        for n, inc in incs:
            h = resolve(p, inc, files, headers)
            if h is None:
                faults.append(f"{p}:{n}: includes \"{inc}\", a header in no layer of helper/LAYERS")
                continue
            hl = files[h][0]
            if hl != layer:
                if hl in only and os.path.basename(h) in only[hl]:
                    pass
                elif hl not in uses:
                    what = "only " + ", ".join(sorted(only[hl])) + " of" if hl in only else "not use"
                    faults.append(f"{p}:{n}: includes {h}: layer {layer} may {what} layer {hl} (helper/LAYERS)")
                    continue
            if unit(h) != unit(p):
                edges.setdefault(unit(p), {}).setdefault(unit(h), (p, n))
    faults += cycles(edges)
    return faults


def cycles(edges):
    """One fault per cycle found (depth first, each edge once)."""
    faults, state, stack = [], {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, {})):
            if state.get(v) == 1:
                ring = stack[stack.index(v):] + [v]
                steps = []
                for a, b in zip(ring, ring[1:]):
                    f, n = edges[a][b]
                    steps.append(f"{f}:{n} -> {b}")
                faults.append(f"{steps[0].split(' ->')[0]}: include cycle: " + ", ".join(steps))
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(edges):
        if u not in state:
            visit(u)
    return faults


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        faults = check(root)
    except (LayerError, OSError) as e:
        print(f"layers: {e}", file=sys.stderr)
        return 2
    for f in faults:
        print(f, file=sys.stderr)
    if faults:
        print(f"layers: {len(faults)} fault(s); the allowed directions are in helper/LAYERS", file=sys.stderr)
        return 1
    print("layers: every include goes down (helper/LAYERS)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
