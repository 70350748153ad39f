/*
 * init: /init of the rootfs, on both systems.
 *
 * Our system and the native-Linux baseline (Debian's kernel) boot the same
 * rootfs image, and both run this program (a static musl binary) as process
 * 1, so the command under test sees the same world — the same process tree
 * included — on both:
 *
 *   - mounts proc on /proc, sysfs on /sys and devtmpfs on /dev (a failure
 *     is reported and otherwise ignored: the rootfs has the basic device
 *     nodes itself);
 *   - sets the hostname from /etc/hostname;
 *   - makes the console's tty its controlling terminal;
 *   - if /etc/command exists (argv as NUL-terminated strings, argv[0] first),
 *     forks and execs the command, in a process group of its own that is the
 *     terminal's foreground group (so ^C reaches it), on the console as
 *     stdin, stdout and stderr, with PATH=/bin:/sbin:/usr/bin:/usr/sbin
 *     HOME=/ TERM=linux (argv[0] without a '/' is looked up in that PATH);
 *   - otherwise does the same with an interactive /bin/sh;
 *   - waits for the child (reaping orphans meanwhile), kills whatever it
 *     left behind, waits until the console has sent all output, prints
 *     "### exit status S" (S = exit code, or 128 + signal number, as a shell
 *     reports it) and powers off through QEMU's isa-debug-exit device (port
 *     0xf4) with S as the code, so QEMU exits with (2*S+1) & 255. Without
 *     that device it falls back to an ordinary power-off.
 *
 * Why init keeps the session: when a session leader exits, Linux hangs its
 * controlling terminal up, and the hangup throws away output still queued
 * for the UART. With init as the session leader the command's last lines
 * are never lost; init drains the tty before powering off.
 *
 * On our system the mounts find /proc, /sys and /dev already there (EBUSY),
 * and /sys/class/tty/console/active is absent, so the console is opened as
 * /dev/console.
 *
 * Build: musl-gcc -static -O2 -o build/init rootfs/init.c (scripts/build
 * does it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define COMMAND_FILE "/etc/command"
#define DEBUG_EXIT_PORT 0xf4
#define MAX_ARGS 4096

static char *const child_env[] = {
    "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
    "HOME=/",
    "TERM=linux",
    NULL,
};

/* Write a whole string to fd, retrying short writes and EINTR. */
static void put(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void warn(const char *what, const char *arg) {
    char buf[512];
    snprintf(buf, sizeof buf, "init: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    put(2, buf);
}

static void mount_fs(const char *source, const char *target, const char *type) {
    mkdir(target, 0755); /* usually already in the rootfs */
    if (mount(source, target, type, 0, NULL) != 0 && errno != EBUSY) warn("mount", target);
}

/* Read a whole file into a NUL-terminated heap buffer; NULL if it is missing. */
static char *slurp(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

/*
 * The console's real tty. /dev/console cannot become a controlling terminal,
 * so open the device behind it: the last name in
 * /sys/class/tty/console/active ("ttyS0" with console=ttyS0).
 */
static int open_console_tty(void) {
    size_t len;
    char *active = slurp("/sys/class/tty/console/active", &len);
    if (active) {
        char *name = NULL;
        for (char *tok = strtok(active, " \n"); tok; tok = strtok(NULL, " \n")) name = tok;
        if (name) {
            char path[64];
            snprintf(path, sizeof path, "/dev/%s", name);
            int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
            free(active);
            if (fd >= 0) return fd;
        } else {
            free(active);
        }
    }
    return open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static void power_off(int status) {
    sync();
    if (ioperm(DEBUG_EXIT_PORT, 1, 1) == 0) outb((unsigned char)status, DEBUG_EXIT_PORT);
    /* Still here: no isa-debug-exit device (or no I/O permission). */
    reboot(RB_POWER_OFF);
    for (;;) pause();
}

int main(void) {
    mount_fs("proc", "/proc", "proc");
    mount_fs("sysfs", "/sys", "sysfs");
    mount_fs("devtmpfs", "/dev", "devtmpfs");
    chdir("/");
    umask(022);

    size_t len = 0;
    char *host = slurp("/etc/hostname", &len);
    if (host) {
        while (len > 0 && (host[len - 1] == '\n' || host[len - 1] == ' ')) len--;
        if (len > 0) sethostname(host, len);
        free(host);
    }

    /* Our own session, with the console as its controlling terminal. We stay
     * in it as a background process: ignoring SIGTTOU lets us take the
     * terminal back (tcsetpgrp) and drain it (tcdrain) at the end. */
    signal(SIGTTOU, SIG_IGN);
    setsid();
    int tty = open_console_tty();
    if (tty >= 0) ioctl(tty, TIOCSCTTY, 1);

    /* The command: /etc/command's NUL-separated argv, or an interactive shell. */
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    char *cmd = slurp(COMMAND_FILE, &len);
    if (cmd && len > 0) {
        for (size_t i = 0; i < len && argc < MAX_ARGS;) {
            argv[argc++] = cmd + i;
            i += strlen(cmd + i) + 1;
        }
    } else {
        argv[argc++] = "/bin/sh";
    }
    argv[argc] = NULL;

    pid_t child = fork();
    if (child < 0) {
        warn("fork", NULL);
        power_off(125);
    }
    if (child == 0) {
        /* The terminal's foreground process group, on stdin/stdout/stderr. */
        setpgid(0, 0);
        if (tty >= 0) {
            tcsetpgrp(tty, getpid());
            dup2(tty, 0);
            dup2(tty, 1);
            dup2(tty, 2);
        }
        signal(SIGTTOU, SIG_DFL); /* an ignored signal would stay ignored across exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvpe(argv[0], argv, child_env);
        int err = errno;
        warn("cannot run", argv[0]);
        _exit(err == ENOENT ? 127 : 126);
    }
    setpgid(child, child); /* both of us do it: whichever gets there first */
    if (tty >= 0) tcsetpgrp(tty, child);

    /* Reap everything (orphans are re-parented to us) until the child ends. */
    int st = 0, status = 125;
    for (;;) {
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0 && errno == EINTR) continue;
        if (p < 0) break; /* ECHILD: cannot happen while the child lives */
        if (p == child) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
    }

    /* Stop what the command left running so nothing writes after our line. */
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }

    int out = tty >= 0 ? tty : 1;
    if (tty >= 0) tcsetpgrp(tty, getpgrp());
    char line[64];
    snprintf(line, sizeof line, "### exit status %d\n", status);
    tcdrain(out);
    put(out, line);
    tcdrain(out); /* the UART sends asynchronously: let it finish first */
    power_off(status);
    return 0;
}
