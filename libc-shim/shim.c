/* The libc shim's entry points will live here (see README.md). This file
 * only keeps the build honest until then: it must compile with musl-gcc. */
int libc_shim_version(void) { return 0; }
