#!/usr/bin/env bash
# Build the lmbench-style benchmark programs: every progs/*.c becomes a
# static musl binary OUTDIR/<name> (hello is the tiny program lat_proc
# execs), and run-all is copied to OUTDIR/run-all (mode 0755). MUSL_GCC
# names the compiler (default musl-gcc; build/libc-shim/shim-gcc gives the
# libc-shim variant, whose system calls are direct IPC to the linux-server).
# Idempotent; a program is rebuilt only when its source, progs/bench.h, this
# script or the compiler driver is newer than the binary.
#
# usage: [MUSL_GCC=CC] tests/bench/build.sh OUTDIR
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

built=0
for src in "$here"/progs/*.c; do
    name="$(basename "$src" .c)"
    bin="$out/$name"
    if [ -f "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$here/progs/bench.h" ] \
        && [ "$bin" -nt "$here/build.sh" ] && [ "$bin" -nt "$cc_path" ]; then
        continue
    fi
    "$CC" "${CFLAGS[@]}" -o "$bin.tmp" "$src"
    mv -f "$bin.tmp" "$bin"
    built=$((built + 1))
done

if ! [ -f "$out/run-all" ] || ! [ "$out/run-all" -nt "$here/run-all" ] || ! [ -x "$out/run-all" ]; then
    cp -f "$here/run-all" "$out/run-all.tmp"
    chmod 0755 "$out/run-all.tmp"
    mv -f "$out/run-all.tmp" "$out/run-all"
    built=$((built + 1))
fi
[ "$built" -eq 0 ] || echo "tests/bench: built $built file(s) in $out" >&2
