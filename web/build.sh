#!/bin/sh
# Builds the web console into OUTDIR for correlator/console.c to embed
# (called by mk/web.mk; run it by hand with: web/build.sh build/web/console).
#   1. npm ci from the committed package-lock.json (only when the lockfile
#      changed since the last install), no install scripts;
#   2. node web/build.mjs: esbuild bundles and minifies, gzip copies.
# When Node.js/npm are missing or the registry cannot be reached, the
# correlator must still build: OUTDIR gets web/fallback.html (a page saying
# the console is not in this binary) and a .placeholder marker, a warning is
# printed, and exit is 0. mk/web.mk runs this again on every make while the
# marker is there; the placeholder files are left untouched (so nothing is
# relinked) until the real bundle builds.
# Exit status: 0, or 1 when the bundle itself failed to build (a bug in
# web/src: that must not pass silently).
set -u
out=$1
stamp=$2
cd "$(dirname "$0")/.."
web=web

placeholder() {
	echo "web: WARNING: $1" >&2
	echo "web: WARNING: seismo-correlator gets a placeholder page instead of the console (docs/console.md)" >&2
	if [ -f "$out/.placeholder" ] && cmp -s "$web/fallback.html" "$out/index.html"; then
		exit 0
	fi
	rm -rf "$out" && mkdir -p "$out" || exit 1
	cp "$web/fallback.html" "$out/index.html"
	: >"$out/app.js"
	: >"$out/app.css"
	for f in index.html app.js app.css; do gzip -9n -c "$out/$f" >"$out/$f.gz"; done
	touch "$out/.placeholder" "$stamp"
	exit 0
}

command -v node >/dev/null 2>&1 || placeholder "node is not installed (apt install nodejs npm)"
command -v npm >/dev/null 2>&1 || placeholder "npm is not installed (apt install npm)"
installed=$web/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ "$web/package-lock.json" -nt "$installed" ] ||
	[ "$web/package.json" -nt "$installed" ]; then
	echo "  NPM-CI   web/node_modules"
	(cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
		placeholder "npm ci failed in web/ (is the npm registry reachable?)"
fi
rm -rf "$out.tmp"
node "$web/build.mjs" "$out.tmp" >/dev/null || { rm -rf "$out.tmp"; echo "web: building the console failed" >&2; exit 1; }
rm -rf "$out" && mv "$out.tmp" "$out" && touch "$stamp"
