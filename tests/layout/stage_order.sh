#!/bin/bash
# timeout: 30
# The agent's data path runs one way (docs/architecture.md):
#	collect -> series -> judge -> event -> sinks
# A file in a stage folder may include headers of its own stage, of the
# stages before it, of agent/ itself (config.h, promtext.h) and of common/
# and include/; never of a later stage. The one exception is the hand-over
# itself: the event stage gives its events to the sinks. agent/*.c is the
# wiring and may include everything. Lists every include against the flow.
set -eu -o pipefail
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
exec python3 - <<'PY'
import glob, os, re, sys

order = ["collect", "series", "judge", "event", "sinks"]
allowed_forward = {("event", "sinks")}
home = {}
for stage in order:
    for h in glob.glob(f"agent/{stage}/*.h"):
        home[os.path.basename(h)] = stage
missing = [s for s in order if not os.path.isdir(f"agent/{s}")]
if missing:
    print("stage folders missing: " + ", ".join(missing))
    sys.exit(1)
bad = checked = 0
for stage in order:
    for f in sorted(glob.glob(f"agent/{stage}/*.[ch]")):
        for n, line in enumerate(open(f, encoding="utf-8"), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            target = home.get(os.path.basename(m.group(1)))
            if target is None or target == stage:
                continue
            checked += 1
            if order.index(target) > order.index(stage) and (stage, target) not in allowed_forward:
                print(f"{f}:{n}: {stage} includes {m.group(1)} of the later stage {target}")
                bad += 1
print(f"{checked} includes between stages, {bad} against the flow")
sys.exit(1 if bad else 0)
PY
