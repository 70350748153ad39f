#!/usr/bin/env bash
# Build the libc shim: musl's libc.a compiled with the shim's system-call
# layer (overlay/), so that every system call of a program linked with it is
# a direct IPC call to the linux-server (README.md).
#
#   libc-shim/build.sh OUTDIR
#
# Writes OUTDIR/lib/libc.a and OUTDIR/shim-gcc, a drop-in for musl-gcc that
# links against it (`shim-gcc -static -o prog prog.c`). Headers and start
# files stay Debian's musl-dev ones, so the musl sources used must be the same
# release as the installed musl-dev (checked). The sources are Debian's
# original tarball of that release, downloaded once into OUTDIR (the same
# archive apt fetches its packages from) and checked against its SHA-256:
# nothing of musl is kept in this repository. Idempotent: rebuilds only when
# overlay/ or this script is newer than the library.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

MUSL_VERSION=1.2.3
MUSL_SHA256=7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4
MUSL_URLS=(
    "http://deb.debian.org/debian/pool/main/m/musl/musl_${MUSL_VERSION}.orig.tar.gz"
    "https://snapshot.debian.org/archive/debian/20250520T000000Z/pool/main/m/musl/musl_${MUSL_VERSION}.orig.tar.gz"
)

installed="$(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || true)"
case "$installed" in
    "$MUSL_VERSION"-*) ;;
    *) echo "libc-shim: musl-dev $MUSL_VERSION is needed (installed: ${installed:-none}); scripts/setup installs it" >&2
       exit 1 ;;
esac

lib="$out/lib/libc.a"
newest_input="$(find "$here/overlay" "$here/build.sh" -type f -newer "$lib" 2>/dev/null | head -n1 || true)"
if [ -f "$lib" ] && [ -z "$newest_input" ] && [ -x "$out/shim-gcc" ]; then
    exit 0
fi

tarball="$out/musl_${MUSL_VERSION}.orig.tar.gz"
if ! echo "$MUSL_SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; then
    rm -f "$tarball"
    for url in "${MUSL_URLS[@]}"; do
        if curl -fsSL --retry 3 --max-time 120 -o "$tarball.tmp" "$url"; then
            mv -f "$tarball.tmp" "$tarball"
            break
        fi
        echo "libc-shim: could not download $url" >&2
    done
    [ -f "$tarball" ] || { echo "libc-shim: no musl $MUSL_VERSION sources" >&2; exit 1; }
    echo "$MUSL_SHA256  $tarball" | sha256sum -c --quiet - \
        || { echo "libc-shim: $tarball has the wrong SHA-256" >&2; rm -f "$tarball"; exit 1; }
fi

src="$out/src"
rm -rf "$src"
mkdir -p "$src"
tar -xzf "$tarball" -C "$src" --strip-components=1

# The overlay replaces musl's files; an assembly stub written as .S (it
# includes l4shim_asm.h) replaces musl's .s of the same name.
(cd "$here/overlay" && find . -type f) | while read -r f; do
    case "$f" in *.S) rm -f "$src/${f%.S}.s" ;; esac
    mkdir -p "$(dirname "$src/$f")"
    cp "$here/overlay/$f" "$src/$f"
done

echo "libc-shim: building musl $MUSL_VERSION with the shim's system-call layer" >&2
(
    cd "$src"
    ./configure --disable-shared --prefix=/nonexistent CC=gcc CFLAGS="-O2" >configure.log 2>&1 \
        || { cat configure.log >&2; exit 1; }
    make -s -j"$(nproc)" lib/libc.a >make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }
)

# No trapped `syscall` may be left: every one in the library must be an IPC
# (RAX = 0x80000000 set just before it). The stubs and syscall_arch.h set RAX
# last, so the instruction before each `syscall` shows it.
bad="$(objdump -d --no-show-raw-insn "$src/lib/libc.a" \
    | awk '/^[^ ].*file format/ {member = $1}
           /\tsyscall/ { if (prev !~ /mov +\$0x80000000,%eax/) print member ": " prev }
           { prev = $0 }')"
if [ -n "$bad" ]; then
    echo "libc-shim: syscall instructions that are not IPC calls:" >&2
    echo "$bad" >&2
    exit 1
fi

mkdir -p "$out/lib"
cp "$src/lib/libc.a" "$lib.tmp"
mv -f "$lib.tmp" "$lib"
cat >"$out/shim-gcc.tmp" <<WRAPPER
#!/bin/sh
# musl-gcc, linking the libc shim's libc.a (libc-shim/build.sh wrote this).
exec musl-gcc -L"$out/lib" "\$@"
WRAPPER
chmod +x "$out/shim-gcc.tmp"
mv -f "$out/shim-gcc.tmp" "$out/shim-gcc"
rm -rf "$src"
