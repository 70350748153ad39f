# Sourced by the scripts: the toolchain the project builds with (DESIGN §3).
# Debian's rustc/cargo come first on PATH (rustup's proxies cannot build for
# the bare-metal target), and RUSTC_BOOTSTRAP enables -Zbuild-std.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc
export CARGO=/usr/bin/cargo
export RUSTC_BOOTSTRAP=1
BUILD="$ROOT/build"
BARE_TARGET=x86_64-unknown-none
BARE_FLAGS=(--release --target "$BARE_TARGET" -Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem)
