#!/bin/bash
# timeout: 30
# Each binary links only what it uses (docs/architecture.md): the agent
# (seismo) needs libbpf but never SQLite or libpq; the correlator needs SQLite
# but never libbpf or libelf. Read from the ELF's NEEDED entries (readelf -d),
# which is what the dynamic loader will load, whatever the build flags were.
set -eu -o pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
BUILD=${BUILD:-$(dirname "$0")/../../build}
command -v readelf >/dev/null || { echo "SKIP: readelf (binutils) is not installed"; exit 77; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'; }

check() { # BINARY REQUIRED_RE FORBIDDEN_RE
	local bin=$1 want=$2 never=$3 libs
	[ -x "$bin" ] || fail "$bin is not built (make tests builds it)"
	libs=$(needed "$bin")
	echo "$(basename "$bin"): $(echo $libs)"
	echo "$libs" | grep -Eq "$want" || fail "$(basename "$bin") does not link $want"
	if echo "$libs" | grep -E "$never"; then
		fail "$(basename "$bin") links the above, which it does not use"
	fi
}
check "$BUILD/seismo" '^libbpf\.so' '^lib(sqlite3|pq)\.so'
[ -e "$BUILD/seismo-correlator" ] || { echo "SKIP: no correlator in this tree"; exit 77; }
check "$BUILD/seismo-correlator" '^libsqlite3\.so' '^lib(bpf|elf)\.so'
echo "each binary links only its own libraries"
