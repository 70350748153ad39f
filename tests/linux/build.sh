#!/usr/bin/env bash
# Build the Linux system-call test programs: every progs/*.c (and ours/*.c,
# the programs only meaningful on our system) becomes a static musl binary
# OUTDIR/<name>. MUSL_GCC names the compiler (default musl-gcc;
# build/libc-shim/shim-gcc gives the libc-shim variant). Idempotent; a
# program is rebuilt only when its source, progs/check.h, this script or the
# compiler driver is newer than the binary.
#
# Also writes OUTDIR/MANIFEST: one line per program, "<name> <expected exit
# status>", taken from an "expect-status: N" comment in the source (0 when
# there is none). See README.md.
#
# usage: tests/linux/build.sh OUTDIR
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$1"
mkdir -p "$out"
CC="${MUSL_GCC:-musl-gcc}"
CFLAGS=(-static -O2 -Wall -Werror -std=gnu11)
cc_path="$(command -v "$CC")" || { echo "build.sh: $CC not found (apt-get install musl-tools)" >&2; exit 1; }

manifest=""
built=0
for src in "$here"/progs/*.c "$here"/ours/*.c; do
    name="$(basename "$src" .c)"
    bin="$out/$name"
    if [ "$(basename "$(dirname "$src")")" = progs ]; then
        status="$(sed -n 's/.*expect-status: *\([0-9][0-9]*\).*/\1/p' "$src" | head -n1)"
        manifest+="$name ${status:-0}"$'\n'
    fi
    if [ -f "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$here/progs/check.h" ] \
        && [ "$bin" -nt "$here/build.sh" ] && [ "$bin" -nt "$cc_path" ]; then
        continue
    fi
    "$CC" "${CFLAGS[@]}" -o "$bin.tmp" "$src"
    mv -f "$bin.tmp" "$bin"
    built=$((built + 1))
done

# Rewrite the manifest only when it changed, so its mtime means something.
if [ ! -f "$out/MANIFEST" ] || [ "$(cat "$out/MANIFEST")"$'\n' != "$manifest" ]; then
    printf '%s' "$manifest" >"$out/MANIFEST"
fi
[ "$built" -eq 0 ] || echo "tests/linux: built $built program(s) in $out" >&2
