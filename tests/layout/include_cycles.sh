#!/bin/bash
# timeout: 60
# The project's include graph has no circle. Nodes are modules (foo.c and
# foo.h are one module "dir/foo"), so detector.c -> events.h -> detector.h is
# the circle it is (detector and events each needing the other), even though
# no single file includes itself. Quoted includes resolve as the compiler
# does: the including file's folder first, then the module's search path
# (the seismo binary: agent/, agent/<stage>/, chaos/, doctor/ as AGENT_INC in
# the Makefile; the correlator: its own folder), then common/, include/.
# Includes that resolve to nothing in the tree (skeletons, system) are left
# out. A header without a .c (an interface such as correlator/store_backend.h,
# or a struct-only header) holds no code of its own: an include of it counts as
# including what it includes, so an implementation including its interface
# is not a circle, while two headers including each other still are. Also fails when a header name exists twice on one search path, since
# then the -I order, not the include line, decides which one is meant.
# Prints every circle found as a path of modules.
set -eu -o pipefail
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
exec python3 - <<'PY'
import os, re, sys
from collections import defaultdict

agent_dirs = ["agent"] + sorted(d for d in (os.path.join("agent", e) for e in os.listdir("agent"))
                                 if os.path.isdir(d)) + ["chaos", "doctor"]
search = {}
for d in agent_dirs:
    search[d] = agent_dirs + ["common", "include"]
search["correlator"] = ["correlator", "common", "include"]
search["common"] = ["common", "include"]
search["include/seismo"] = ["include"]
search["bpf"] = ["bpf", "include"]

files = []
for d in search:
    if os.path.isdir(d):
        files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith((".c", ".h"))]

bad = 0
for d in ("agent", "correlator"):
    seen = defaultdict(list)
    for sd in search[d if d != "agent" else "agent"]:
        if not os.path.isdir(sd) or sd == "include":
            continue
        for f in os.listdir(sd):
            if f.endswith(".h"):
                seen[f].append(sd)
    for name, dirs in sorted(seen.items()):
        if len(dirs) > 1:
            print(f"ambiguous include \"{name}\": found in {', '.join(dirs)} on one search path")
            bad = 1

def module(path):
    return os.path.splitext(os.path.normpath(path))[0]

inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
has_code = {module(f) for f in files if f.endswith(".c")}
raw = defaultdict(set)
for f in files:
    here = os.path.dirname(f)
    for name in inc_re.findall(open(f, encoding="utf-8", errors="replace").read()):
        target = None
        for base in [here] + search[here]:
            cand = os.path.normpath(os.path.join(base, name))
            if os.path.isfile(cand):
                target = cand
                break
        if target is None:
            continue  # generated (skeletons) or outside the tree
        raw[f].add(target)


def code_targets(f, seen):
    # Modules with code that f reaches, looking through header-only modules.
    out = set()
    for t in raw.get(f, ()):
        if module(t) in has_code:
            out.add(module(t))
        elif t not in seen:
            seen.add(t)
            out |= code_targets(t, seen)
    return out

# Tarjan's strongly connected components: every component with more than
# one node is a circle.
def circles(edges, what):
  global bad
  index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]
  def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in sorted(edges.get(v, ())):
      if w not in index:
        strong(w); low[v] = min(low[v], low[w])
      elif w in on:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      comp = []
      while True:
        w = stack.pop(); on.discard(w); comp.append(w)
        if w == v:
          break
      comps.append(comp)

  def cycle_in(comp):
    members, start = set(comp), min(comp)
    path, seen = [start], {start}
    def walk(v):
      for w in sorted(edges.get(v, ())):
        if w == start:
          return True
        if w in members and w not in seen:
          seen.add(w); path.append(w)
          if walk(w):
            return True
          path.pop()
      return False
    walk(start)
    return path + [start]

  nodes = sorted(set(edges) | {w for ws in edges.values() for w in ws})
  for v in nodes:
    if v not in index:
      strong(v)
  for comp in comps:
    if len(comp) > 1:
      print(f"include circle ({what}): " + " -> ".join(cycle_in(comp)))
      bad = 1
  return nodes

sys.setrecursionlimit(10000)
circles(raw, "files")
mod_edges = defaultdict(set)
for f in list(raw):
    for m in code_targets(f, {f}):
        if m != module(f):
            mod_edges[module(f)].add(m)
nodes = circles(mod_edges, "modules")
print(f"{len(nodes)} modules, {sum(len(w) for w in mod_edges.values())} module dependencies")
if bad:
    sys.exit(1)
print("no include circle")
PY
