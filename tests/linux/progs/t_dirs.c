/*
 * t_dirs - mkdir/rmdir/unlink/rename/link/symlink/readlink, ELOOP,
 * ENAMETOOLONG, trailing slashes, getdents64 (readdir), chdir/fchdir/getcwd.
 */
#include "check.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_mkdir_rmdir_unlink(void)
{
    struct stat st;
    EXPECT_OK(mkdir("d", 0755), "mkdir d");
    EXPECT_ERR(mkdir("d", 0755), EEXIST, "mkdir an existing directory");
    put_file("f", "data", 4, 0644);
    EXPECT_ERR(mkdir("f", 0755), EEXIST, "mkdir over an existing file");
    EXPECT_ERR(mkdir("nope/d", 0755), ENOENT, "mkdir in a missing directory");
    EXPECT_ERR(mkdir("f/d", 0755), ENOTDIR, "mkdir below a regular file");
    EXPECT_OK(mkdir("slash/", 0755), "mkdir with a trailing slash");
    EXPECT_OK(mkdirat(AT_FDCWD, "d/sub", 0755), "mkdirat d/sub");
    put_file("d/sub/file", "", 0, 0644);

    EXPECT_ERR(rmdir("d"), ENOTEMPTY, "rmdir a non-empty directory");
    EXPECT_ERR(rmdir("f"), ENOTDIR, "rmdir a regular file");
    EXPECT_ERR(rmdir("missing"), ENOENT, "rmdir a missing directory");
    EXPECT_ERR(rmdir("."), EINVAL, "rmdir \".\"");
    EXPECT_ERR(rmdir("d/sub/.."), ENOTEMPTY, "rmdir \"d/sub/..\"");
    EXPECT_OK(rmdir("slash/"), "rmdir with a trailing slash");
    EXPECT_ERR(stat("slash", &st), ENOENT, "removed directory is gone");

    EXPECT_ERR(unlink("d"), EISDIR, "unlink a directory");
    EXPECT_ERR(unlink("missing"), ENOENT, "unlink a missing file");
    EXPECT_ERR(unlink("f/"), ENOTDIR, "unlink a file with a trailing slash");
    EXPECT_ERR(unlinkat(AT_FDCWD, "d", 0), EISDIR, "unlinkat a directory without AT_REMOVEDIR");
    EXPECT_ERR(unlinkat(AT_FDCWD, "f", AT_REMOVEDIR), ENOTDIR, "unlinkat AT_REMOVEDIR on a file");
    EXPECT_ERR(unlinkat(AT_FDCWD, "f", 0x1), EINVAL, "unlinkat with an unknown flag");
    EXPECT_OK(unlink("d/sub/file"), "unlink d/sub/file");
    EXPECT_OK(unlinkat(AT_FDCWD, "d/sub", AT_REMOVEDIR), "unlinkat AT_REMOVEDIR on an empty directory");
}

static void test_rename(void)
{
    char buf[64];
    struct stat st, st2;
    put_file("r1", "one", 3, 0644);
    put_file("r2", "two", 3, 0644);
    stat("r1", &st);
    EXPECT_OK(rename("r1", "r2"), "rename file over an existing file");
    EXPECT_ERR(stat("r1", &st2), ENOENT, "old name gone after rename");
    get_file("r2", buf, sizeof buf);
    EXPECT_STR(buf, "one", "target now has the source's contents");
    stat("r2", &st2);
    CHECK(st.st_ino == st2.st_ino, "target is the source's inode");
    EXPECT_OK(rename("r2", "r3"), "rename to a new name");
    get_file("r3", buf, sizeof buf);
    EXPECT_STR(buf, "one", "contents kept across rename");
    EXPECT_OK(rename("r3", "r3"), "rename a file onto itself");
    EXPECT_OK(stat("r3", &st), "file still there after rename onto itself");
    link("r3", "r3b");
    EXPECT_OK(rename("r3", "r3b"), "rename onto a hard link of the same inode");
    CHECK(stat("r3", &st) == 0 && stat("r3b", &st2) == 0, "both names remain (rename of same inode is a no-op)");
    EXPECT_ERR(rename("missing", "x"), ENOENT, "rename a missing file");

    mkdir("da", 0755);
    mkdir("db", 0755);
    mkdir("dc", 0755);
    put_file("dc/x", "", 0, 0644);
    put_file("da/inner", "in", 2, 0644);
    EXPECT_ERR(rename("r3", "da"), EISDIR, "rename a file over a directory");
    EXPECT_ERR(rename("da", "r3"), ENOTDIR, "rename a directory over a file");
    EXPECT_ERR(rename("da", "dc"), ENOTEMPTY, "rename a directory over a non-empty directory");
    EXPECT_ERR(rename("da", "da/sub"), EINVAL, "rename a directory into its own subdirectory");
    EXPECT_OK(rename("da", "db"), "rename a directory over an empty directory");
    get_file("db/inner", buf, sizeof buf);
    EXPECT_STR(buf, "in", "moved directory keeps its contents");
    EXPECT_OK(rename("db/", "dd/"), "rename directories with trailing slashes");
    EXPECT_ERR(rename("r3", "newname/"), ENOTDIR, "rename a file to a name with a trailing slash");
    EXPECT_OK(rename("r3", "dd/r3"), "rename a file into another directory");
    EXPECT_OK(stat("dd/r3", &st), "file arrived in the other directory");

    put_file("n1", "1", 1, 0644);
    put_file("n2", "2", 1, 0644);
    EXPECT_ERR(syscall(SYS_renameat2, AT_FDCWD, "n1", AT_FDCWD, "n2", RENAME_NOREPLACE), EEXIST,
               "renameat2 RENAME_NOREPLACE onto an existing file");
    EXPECT_OK(syscall(SYS_renameat2, AT_FDCWD, "n1", AT_FDCWD, "n2", RENAME_EXCHANGE), "renameat2 RENAME_EXCHANGE");
    get_file("n1", buf, sizeof buf);
    EXPECT_STR(buf, "2", "RENAME_EXCHANGE swapped the files");
    EXPECT_ERR(syscall(SYS_renameat2, AT_FDCWD, "n1", AT_FDCWD, "n3", RENAME_EXCHANGE), ENOENT,
               "RENAME_EXCHANGE with a missing target");
    EXPECT_ERR(syscall(SYS_renameat2, AT_FDCWD, "n1", AT_FDCWD, "n2", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL,
               "renameat2 RENAME_EXCHANGE|RENAME_NOREPLACE");
}

static void test_links(void)
{
    char buf[300];
    struct stat st;
    put_file("t", "target", 6, 0644);
    mkdir("ld", 0755);
    EXPECT_OK(link("t", "t2"), "link");
    EXPECT_ERR(link("t", "t2"), EEXIST, "link onto an existing name");
    EXPECT_ERR(link("missing", "t3"), ENOENT, "link a missing file");
    EXPECT_ERR(link("ld", "ld2"), EPERM, "link a directory");

    EXPECT_OK(symlink("t", "s"), "symlink s -> t");
    EXPECT_ERR(symlink("t", "s"), EEXIST, "symlink onto an existing name");
    EXPECT_RET(readlink("s", buf, sizeof buf), 1, "readlink returns the target length");
    CHECK(buf[0] == 't', "readlink returns the target");
    symlink("a/long/target", "s2");
    memset(buf, 'X', sizeof buf);
    EXPECT_RET(readlink("s2", buf, 4), 4, "readlink into a short buffer truncates");
    CHECK(memcmp(buf, "a/loX", 5) == 0, "readlink truncates without a terminating NUL");
    EXPECT_ERR(readlink("t", buf, sizeof buf), EINVAL, "readlink a regular file");
    EXPECT_ERR(readlink("ld", buf, sizeof buf), EINVAL, "readlink a directory");
    EXPECT_ERR(readlink("missing", buf, sizeof buf), ENOENT, "readlink a missing file");
    EXPECT_ERR(syscall(SYS_readlink, "s", buf, 0), EINVAL, "readlink with buffer size 0");
    EXPECT_RET(readlinkat(AT_FDCWD, "s", buf, sizeof buf), 1, "readlinkat");

    symlink("nowhere", "dangling");
    EXPECT_ERR(open("dangling", O_RDONLY), ENOENT, "open a dangling symlink");
    EXPECT_ERR(open("dangling", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST, "O_CREAT|O_EXCL on a dangling symlink");
    EXPECT_ERR(open("s", O_RDONLY | O_NOFOLLOW), ELOOP, "open O_NOFOLLOW on a symlink");
    symlink("loop2", "loop1");
    symlink("loop1", "loop2");
    EXPECT_ERR(open("loop1", O_RDONLY), ELOOP, "open a symlink loop");
    EXPECT_ERR(stat("loop1", &st), ELOOP, "stat a symlink loop");
    EXPECT_OK(lstat("loop1", &st), "lstat a symlink in a loop");
    symlink("self", "self");
    EXPECT_ERR(stat("self", &st), ELOOP, "stat a self-referencing symlink");

    /* Linux follows at most 40 symlinks in one lookup */
    char name[16], prev[16];
    strcpy(prev, "t");
    for (int i = 1; i <= 41; i++) {
        snprintf(name, sizeof name, "c%d", i);
        symlink(prev, name);
        strcpy(prev, name);
    }
    EXPECT_OK(stat("c40", &st), "a chain of 40 symlinks resolves");
    EXPECT_ERR(stat("c41", &st), ELOOP, "a chain of 41 symlinks");

    /* linkat: without AT_SYMLINK_FOLLOW the link is to the symlink itself */
    EXPECT_OK(linkat(AT_FDCWD, "s", AT_FDCWD, "hs", 0), "linkat a symlink without AT_SYMLINK_FOLLOW");
    lstat("hs", &st);
    CHECK(S_ISLNK(st.st_mode), "the new name is a symlink");
    EXPECT_OK(linkat(AT_FDCWD, "s", AT_FDCWD, "hf", AT_SYMLINK_FOLLOW), "linkat AT_SYMLINK_FOLLOW");
    lstat("hf", &st);
    CHECK(S_ISREG(st.st_mode) && st.st_nlink == 3, "the new name is the target file (nlink 3)");

    /* name length limits: NAME_MAX 255, PATH_MAX 4096 including the NUL */
    static char longname[5000];
    memset(longname, 'n', 255);
    longname[255] = 0;
    int fd = EXPECT_OK(open(longname, O_WRONLY | O_CREAT, 0644), "create a file with a 255-byte name");
    close(fd);
    unlink(longname);
    memset(longname, 'n', 256);
    longname[256] = 0;
    EXPECT_ERR(open(longname, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG, "create a file with a 256-byte name");
    EXPECT_ERR(stat(longname, &st), ENAMETOOLONG, "stat a 256-byte name");
    EXPECT_ERR(mkdir(longname, 0755), ENAMETOOLONG, "mkdir a 256-byte name");
    for (int i = 0; i < 4096; i++)
        longname[i] = (i % 2) ? '/' : 'a';
    longname[4096] = 0;
    EXPECT_ERR(stat(longname, &st), ENAMETOOLONG, "stat a 4096-byte path");
    longname[4095] = 0;
    EXPECT_ERR(stat(longname, &st), ENOENT, "stat a 4095-byte path (fits; a/a/... does not exist)");
}

static void test_getdents(void)
{
    mkdir("ls", 0755);
    put_file("ls/banana", "", 0, 0644);
    put_file("ls/apple", "", 0, 0644);
    put_file("ls/cherry", "", 0, 0644);
    mkdir("ls/sub", 0755);
    symlink("apple", "ls/link");

    DIR *d = opendir("ls");
    CHECK(d != NULL, "opendir");
    if (!d)
        return;
    char *names[16], text[512] = "";
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16) {
        char t = e->d_type == DT_REG ? 'f' : e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : '?';
        names[n] = malloc(strlen(e->d_name) + 3);
        sprintf(names[n++], "%s:%c", e->d_name, t);
    }
    qsort(names, n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        strcat(text, i ? " " : "");
        strcat(text, names[i]);
        free(names[i]);
    }
    EXPECT_STR(text, "..:d .:d apple:f banana:f cherry:f link:l sub:d", "readdir lists every entry with d_type");
    rewinddir(d);
    int again = 0;
    while (readdir(d))
        again++;
    EXPECT_EQ(again, n, "rewinddir then readdir sees the same number of entries");
    closedir(d);

    /* raw getdents64 */
    static char dbuf[4096];
    int fd = open("ls", O_RDONLY | O_DIRECTORY);
    long total = 0, bytes;
    int count = 0;
    while ((bytes = syscall(SYS_getdents64, fd, dbuf, sizeof dbuf)) > 0) {
        for (long off = 0; off < bytes; count++) {
            unsigned short reclen = *(unsigned short *)(dbuf + off + 16);
            off += reclen;
        }
        total += bytes;
    }
    EXPECT_EQ(bytes, 0, "getdents64 returns 0 at the end of the directory");
    EXPECT_EQ(count, 7, "getdents64 returns 7 records");
    lseek(fd, 0, SEEK_SET);
    EXPECT_ERR(syscall(SYS_getdents64, fd, dbuf, 1), EINVAL, "getdents64 with a 1-byte buffer");
    close(fd);
    fd = open("ls/apple", O_RDONLY);
    EXPECT_ERR(syscall(SYS_getdents64, fd, dbuf, sizeof dbuf), ENOTDIR, "getdents64 on a regular file");
    close(fd);
    EXPECT_ERR(syscall(SYS_getdents64, 1000, dbuf, sizeof dbuf), EBADF, "getdents64 on a closed fd");
}

static void test_cwd(void)
{
    char buf[512];
    mkdir("w1", 0755);
    mkdir("w1/w2", 0755);
    EXPECT_OK(chdir("w1/w2"), "chdir w1/w2");
    EXPECT_STR(getcwd(buf, sizeof buf), "/tmp/t_dirs/w1/w2", "getcwd after chdir");
    EXPECT_RET(syscall(SYS_getcwd, buf, sizeof buf), strlen("/tmp/t_dirs/w1/w2") + 1,
               "SYS_getcwd returns the length including the NUL");
    EXPECT_ERR(syscall(SYS_getcwd, buf, 5), ERANGE, "getcwd into a 5-byte buffer");
    EXPECT_ERR(syscall(SYS_getcwd, buf, 0), ERANGE, "getcwd into a 0-byte buffer");
    EXPECT_ERR(syscall(SYS_getcwd, buf, strlen("/tmp/t_dirs/w1/w2")), ERANGE, "getcwd one byte short");
    EXPECT_OK(chdir(".."), "chdir ..");
    EXPECT_STR(getcwd(buf, sizeof buf), "/tmp/t_dirs/w1", "getcwd after chdir ..");
    int fd = open("w2", O_RDONLY | O_DIRECTORY);
    EXPECT_OK(chdir("/"), "chdir /");
    EXPECT_STR(getcwd(buf, sizeof buf), "/", "getcwd at /");
    EXPECT_OK(fchdir(fd), "fchdir to an open directory fd");
    EXPECT_STR(getcwd(buf, sizeof buf), "/tmp/t_dirs/w1/w2", "getcwd after fchdir");
    close(fd);
    EXPECT_OK(chdir("/tmp/t_dirs"), "chdir back");
    put_file("cf", "", 0, 0644);
    EXPECT_ERR(chdir("cf"), ENOTDIR, "chdir to a regular file");
    EXPECT_ERR(chdir("missing"), ENOENT, "chdir to a missing directory");
    fd = open("cf", O_RDONLY);
    EXPECT_ERR(fchdir(fd), ENOTDIR, "fchdir to a regular file fd");
    close(fd);
    EXPECT_ERR(fchdir(1000), EBADF, "fchdir to a closed fd");

    /* a removed working directory */
    mkdir("gone", 0755);
    chdir("gone");
    EXPECT_OK(rmdir("/tmp/t_dirs/gone"), "rmdir the working directory");
    EXPECT_ERR(syscall(SYS_getcwd, buf, sizeof buf), ENOENT, "getcwd in a removed directory");
    EXPECT_ERR(open("new", O_WRONLY | O_CREAT, 0644), ENOENT, "create a file in a removed directory");
    EXPECT_OK(chdir("/tmp/t_dirs"), "chdir out of the removed directory");
}

int main(void)
{
    t_begin("t_dirs");
    umask(022);
    test_mkdir_rmdir_unlink();
    test_rename();
    test_links();
    test_getdents();
    test_cwd();
    return t_done();
}
