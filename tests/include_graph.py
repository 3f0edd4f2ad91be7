#!/usr/bin/env python3
"""include_graph.py ROOT: fails (exit 1) when the #include graph of ROOT's C sources has a
circle, between modules (x.c + x.h; x_internal.h belongs to x) or between rooms (the
top-level directories, and orchestrator's sub-rooms). Prints the circles found."""
import os
import re
import sys

ROOMS = ("common", "sandbox", "executor", "orchestrator")


def module(path):
    return re.sub(r"_internal$", "", os.path.splitext(path)[0])


def room(mod):
    parts = mod.split("/")
    return "/".join(parts[:2]) if parts[0] == "orchestrator" and len(parts) > 2 else parts[0]


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in list(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    root = sys.argv[1]
    files = []
    for top in ROOMS:
        for d, _, names in os.walk(os.path.join(root, top)):
            files += [os.path.relpath(os.path.join(d, n), root) for n in names if n.endswith((".c", ".h"))]
    headers = {f for f in files if f.endswith(".h")}
    modules, rooms = {}, {}
    for f in files:
        text = open(os.path.join(root, f), encoding="utf-8").read()
        for inc in re.findall(r'#include "([^"]+)"', text):
            target = next((c for c in (inc, os.path.normpath(os.path.join(os.path.dirname(f), inc))) if c in headers), None)
            if not target or module(target) == module(f):
                continue
            modules.setdefault(module(f), set()).add(module(target))
            modules.setdefault(module(target), set())
            if room(module(f)) != room(module(target)):
                rooms.setdefault(room(module(f)), set()).add(room(module(target)))
                rooms.setdefault(room(module(target)), set())
    bad = [("modules", c) for c in cycles(modules)] + [("rooms", c) for c in cycles(rooms)]
    for kind, c in bad:
        print("include circle between %s: %s" % (kind, " <-> ".join(c)))
    print("%d modules, %d rooms, %d circles" % (len(modules), len(rooms), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
