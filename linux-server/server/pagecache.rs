//! Frames shared between processes: the page cache for shared file
//! mappings, and shared anonymous memory.
//!
//! A file's contents live in the VFS (heap memory of the server); a process
//! maps pages of the pool. For MAP_SHARED file mappings both must show the
//! same bytes: every process mapping page *n* of a file shares one pool frame
//! for it (held here), stores by the processes are folded back into the VFS
//! before anyone reads the file through it, and writes through the VFS are
//! copied into the cached frames. Private mappings share the cached frame
//! read-only until they write (then the fault copies it, as Linux does), so
//! every process running a program maps the same frames for its text — no
//! copy per exec, and under QEMU the code translated for those frames is
//! reused. Only frames a shared writable mapping has mapped can differ
//! from the VFS, so only they are written back. Cached pages stay while the
//! file exists (a program's text survives between runs, like Linux's page
//! cache); a deleted file's go with its last mapping, and when the pool runs
//! dry the pages nobody maps are given back before an allocation fails.
//!
//! Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is an object of its
//! own, like Linux's shmem: page *n* of it is one frame for every mapping,
//! so parent and child share even the pages first touched after fork.

use crate::server::Server;
use linux_server::linux::errno::*;
use linux_server::mm::pages::Frame;
use linux_server::mm::PAGE;
use linux_server::vfs::Ino;

impl Server {
    /// A zeroed frame for a user page: from the pool, or, when it is dry,
    /// after the page cache gave back the pages nobody maps.
    pub fn alloc_user_frame(&mut self) -> SysResult<Frame> {
        let f = match self.pool.alloc() {
            Some(f) => f,
            None => {
                self.cache_reclaim();
                self.pool.alloc().ok_or(ENOMEM)?
            }
        };
        self.wx_fresh(f);
        Ok(f)
    }

    /// Drop every cached page no process maps (written back first if a
    /// shared mapping may have changed it): memory is short.
    fn cache_reclaim(&mut self) {
        let mut inos: alloc::vec::Vec<Ino> = self.page_cache.keys().map(|&(i, _)| i).collect();
        inos.dedup();
        for ino in inos {
            self.cache_flush(ino);
            self.cache_trim(ino);
        }
    }

    /// The shared frame for page `index` of file `ino` (one reference is the
    /// caller's).
    pub fn cache_frame(&mut self, ino: Ino, index: u64) -> SysResult<Frame> {
        if let Some(&f) = self.page_cache.get(&(ino, index)) {
            self.pool.get(f);
            return Ok(f);
        }
        let f = self.alloc_user_frame()?;
        let _ = self.vfs.read_at(ino, index * PAGE, &mut self.pool.frame_mut(f)[..]);
        self.pool.get(f); // the cache's own reference
        self.page_cache.insert((ino, index), f);
        let _ = self.vfs.open_ref(ino);
        Ok(f)
    }

    /// Fold the cached pages of `ino` that shared mappings may have written
    /// back into the VFS (before it is read, or when a shared mapping goes).
    pub fn cache_flush(&mut self, ino: Ino) {
        let pages: alloc::vec::Vec<(u64, Frame)> = self
            .cache_shared
            .range((ino, 0)..=(ino, u64::MAX))
            .filter_map(|&(_, idx)| self.page_cache.get(&(ino, idx)).map(|&f| (idx, f)))
            .collect();
        if pages.is_empty() {
            return;
        }
        let size = self.vfs.size(ino).unwrap_or(0);
        let now = crate::files::timespec(self.clock.realtime_ns());
        for (idx, f) in pages {
            let off = idx * PAGE;
            if off >= size {
                continue;
            }
            let n = (size - off).min(PAGE) as usize;
            let data = self.pool.frame(f)[..n].to_vec();
            let _ = self.vfs.write_at(ino, off, &data, now);
        }
    }

    /// The VFS contents of `ino` changed in `[off, off+len)` (a write or a
    /// truncate): refresh the cached frames there.
    pub fn cache_refresh(&mut self, ino: Ino, off: u64, len: u64) {
        if self.page_cache.is_empty() {
            return;
        }
        let first = off / PAGE;
        let last = off.saturating_add(len).div_ceil(PAGE);
        if first >= last {
            return;
        }
        let pages: alloc::vec::Vec<(u64, Frame)> =
            self.page_cache.range((ino, first)..(ino, last)).map(|(&(_, idx), &f)| (idx, f)).collect();
        for (idx, f) in pages {
            self.wx_before_write(f);
            let page = self.pool.frame_mut(f);
            page.fill(0);
            let _ = self.vfs.read_at(ino, idx * PAGE, &mut page[..]);
        }
    }

    /// A file lost a name or a mapping: if it has no name left, its cached
    /// pages go as soon as nobody maps them.
    pub fn cache_trim_if_deleted(&mut self, ino: Ino) {
        if self.vfs.stat(ino).map_or(true, |st| st.nlink == 0) {
            self.cache_trim(ino);
        }
    }

    /// Drop cached pages of `ino` nobody maps any more.
    pub fn cache_trim(&mut self, ino: Ino) {
        let unused: alloc::vec::Vec<(u64, Frame)> = self
            .page_cache
            .range((ino, 0)..=(ino, u64::MAX))
            .filter(|(_, &f)| self.pool.refs(f) == 1)
            .map(|(&(_, idx), &f)| (idx, f))
            .collect();
        for (idx, f) in unused {
            self.page_cache.remove(&(ino, idx));
            self.cache_shared.remove(&(ino, idx));
            self.pool.put(f);
            let _ = self.vfs.close_ref(ino);
        }
    }
}

impl Server {
    /// The frame for page `index` of shared anonymous object `id` (one
    /// reference is the caller's), created zeroed on first use.
    pub fn shm_frame(&mut self, id: u64, index: u64) -> SysResult<Frame> {
        if let Some(&f) = self.shm_pages.get(&(id, index)) {
            self.pool.get(f);
            return Ok(f);
        }
        let f = self.alloc_user_frame()?;
        self.pool.get(f); // the object's own reference
        self.shm_pages.insert((id, index), f);
        Ok(f)
    }

    /// Free the pages of shared anonymous objects no area maps any more.
    /// (Objects are not reference-counted: areas split and merge, so the
    /// areas themselves are looked at, after the rare events that drop one.)
    pub fn shm_collect(&mut self) {
        if self.shm_pages.is_empty() {
            return;
        }
        let mut live = alloc::collections::BTreeSet::new();
        for mm in self.mms.values() {
            for v in mm.vmas.iter() {
                if let linux_server::mm::vma::Backing::Shm { id, .. } = v.backing {
                    live.insert(id);
                }
            }
        }
        let dead: alloc::vec::Vec<(u64, u64)> =
            self.shm_pages.keys().filter(|(id, _)| !live.contains(id)).copied().collect();
        for k in dead {
            if let Some(f) = self.shm_pages.remove(&k) {
                self.pool.put(f);
            }
        }
    }
}
