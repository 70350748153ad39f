/* Allocates and touches memory until the system says no: either mmap fails
 * (ENOMEM) or the process is killed for running the machine out of memory.
 * What matters is that the system survives it: the test checks that the
 * status line still arrives. Not compared with native Linux (the OOM killer
 * and overcommit decide there).
 * expect-status: 137
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    size_t chunk = 16 << 20, total = 0;
    printf("allocating\n");
    fflush(stdout);
    for (;;) {
        char *p = mmap(0, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap failed after %zu MiB: %s\n", total >> 20, strerror(errno));
            return 0;
        }
        for (size_t i = 0; i < chunk; i += 4096)
            p[i] = 1;
        total += chunk;
    }
}
