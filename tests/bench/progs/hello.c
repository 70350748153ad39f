/* hello - the tiny static program lat_proc execs (fork_exec, fork_sh). */
int main(void)
{
    return 0;
}
