/*
 * t_segv - writing to a read-only mapping kills the process with SIGSEGV.
 *
 * expect-status: 139
 *
 * The harness expects this program to die of SIGSEGV: a shell reports
 * status 139 (128 + 11); waitpid gives WIFSIGNALED with WTERMSIG == 11.
 * It prints "about to fault" first (flushed), then writes to a PROT_READ
 * page. Reaching the end prints a FAIL line and exits 1.
 * No signal handler is installed: default action only.
 */
#include "check.h"
#include <sys/mman.h>

int main(void)
{
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("FAIL - mmap PROT_READ (%s)\n", errname(errno));
        return 1;
    }
    CHECK(p[0] == 0, "a PROT_READ anonymous page reads as zero");
    printf("about to fault\n");
    fflush(stdout);
    *(volatile char *)p = 1;
    printf("FAIL - write to a read-only page did not fault\n");
    fflush(stdout);
    return 1;
}
