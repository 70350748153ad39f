//! User and group IDs: get*id, set*id, groups — with Linux's rules for who
//! may change what. Processes start as root; a process that gives up root
//! (setuid) is held to RLIMIT_NPROC, and kill's permission check, as on Linux.
//! File permission checks use the effective IDs.

use crate::process::Pid;
use crate::server::Server;
use linux_server::linux::errno::*;

/// An ID argument: -1 (as u32) means "leave unchanged".
const KEEP: u32 = u32::MAX;
const NGROUPS_MAX: u64 = 65536;

impl Server {
    pub(super) fn sys_getresuid(&mut self, pid: Pid, a: u64, b: u64, c: u64, group: bool) -> SysResult<u64> {
        let cr = &self.procs[&pid].creds;
        let ids = if group { [cr.gid, cr.egid, cr.sgid] } else { [cr.uid, cr.euid, cr.suid] };
        for (p, v) in [a, b, c].into_iter().zip(ids) {
            self.write_u32(pid, p, v)?;
        }
        Ok(0)
    }

    /// setresuid/setresgid (and, through them, the other set*id calls):
    /// root may set anything; others only to one of their current IDs.
    pub(super) fn sys_setresid(&mut self, pid: Pid, r: u32, e: u32, s: u32, group: bool) -> SysResult<u64> {
        let cr = &mut self.procs.get_mut(&pid).expect("live").creds;
        let root = cr.euid == 0;
        let cur = if group { [cr.gid, cr.egid, cr.sgid] } else { [cr.uid, cr.euid, cr.suid] };
        for v in [r, e, s] {
            if v != KEEP && !root && !cur.contains(&v) {
                return Err(EPERM);
            }
        }
        let (ri, ei, si) =
            if group { (&mut cr.gid, &mut cr.egid, &mut cr.sgid) } else { (&mut cr.uid, &mut cr.euid, &mut cr.suid) };
        for (slot, v) in [(ri, r), (ei, e), (si, s)] {
            if v != KEEP {
                *slot = v;
            }
        }
        Ok(0)
    }

    /// setuid/setgid: root sets all three IDs, others only the effective one
    /// (to the real or saved ID).
    pub(super) fn sys_setid(&mut self, pid: Pid, id: u32, group: bool) -> SysResult<u64> {
        if id == KEEP {
            return Err(EINVAL);
        }
        let root = self.procs[&pid].creds.euid == 0;
        if root {
            self.sys_setresid(pid, id, id, id, group)
        } else {
            self.sys_setresid(pid, KEEP, id, KEEP, group)
        }
    }

    /// setreuid/setregid: the saved ID follows the effective one when the
    /// real ID is set or the effective one changes away from the real one.
    pub(super) fn sys_setreid(&mut self, pid: Pid, r: u32, e: u32, group: bool) -> SysResult<u64> {
        let cr = &self.procs[&pid].creds;
        let (cur_r, cur_e, cur_s) = if group { (cr.gid, cr.egid, cr.sgid) } else { (cr.uid, cr.euid, cr.suid) };
        let root = cr.euid == 0;
        if r != KEEP && !root && r != cur_r && r != cur_e {
            return Err(EPERM);
        }
        if e != KEEP && !root && e != cur_r && e != cur_e && e != cur_s {
            return Err(EPERM);
        }
        let new_e = if e == KEEP { cur_e } else { e };
        let s = if r != KEEP || (e != KEEP && e != cur_r) { new_e } else { KEEP };
        self.sys_setresid(pid, r, e, s, group)
    }

    pub(super) fn sys_getgroups(&mut self, pid: Pid, size: u64, list: u64) -> SysResult<u64> {
        let groups = self.procs[&pid].creds.groups.clone();
        let size = size as i32;
        if size < 0 {
            return Err(EINVAL);
        }
        if size == 0 {
            return Ok(groups.len() as u64);
        }
        if (size as usize) < groups.len() {
            return Err(EINVAL);
        }
        let bytes: alloc::vec::Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
        self.write_user(pid, list, &bytes)?;
        Ok(groups.len() as u64)
    }

    pub(super) fn sys_setgroups(&mut self, pid: Pid, size: u64, list: u64) -> SysResult<u64> {
        if size > NGROUPS_MAX {
            return Err(EINVAL);
        }
        if !self.procs[&pid].creds.is_root() {
            return Err(EPERM);
        }
        let raw = self.read_user(pid, list, size as usize * 4)?;
        let mut groups: alloc::vec::Vec<u32> =
            raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
        groups.sort_unstable();
        self.procs.get_mut(&pid).expect("live").creds.groups = groups;
        Ok(0)
    }

    /// setfsuid/setfsgid: the fs IDs follow the effective ones here; the
    /// call reports the previous one and changes nothing.
    pub(super) fn sys_setfsid(&mut self, pid: Pid, group: bool) -> SysResult<u64> {
        let cr = &self.procs[&pid].creds;
        Ok(if group { cr.egid } else { cr.euid } as u64)
    }
}
