/*
 * t_sigpipe - writing to a pipe nobody can read kills the writer with
 * SIGPIPE when the signal has its default action.
 *
 * expect-status: 141
 *
 * A shell reports status 141 (128 + 13). The program prints "about to
 * write" first (flushed); reaching the end prints a FAIL line and exits 1.
 */
#include "check.h"

int main(void)
{
    int p[2];
    if (pipe(p) != 0) {
        printf("FAIL - pipe (%s)\n", errname(errno));
        return 1;
    }
    close(p[0]);
    printf("about to write\n");
    fflush(stdout);
    write(p[1], "x", 1);
    printf("FAIL - the write returned (%s)\n", errname(errno));
    fflush(stdout);
    return 1;
}
