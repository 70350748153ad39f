//! The mapping database: for every mapped page, which space got it from whom.
//!
//! L4's recursive address spaces rest on three operations. *Map* gives a page
//! to another space while the mapper keeps it; *grant* moves it; *unmap*
//! (flush) takes rights away from every mapping derived from a page, however
//! many hands it went through. To do the last, each mapping is a node in a
//! tree per physical frame: its parent is the mapping it was derived from.
//! Roots are the master-space mappings (the root pager's idempotent view of
//! RAM, and the pages the kernel loaded the pager into).
//!
//! Invariants kept here:
//! - a node's rights are a subset of its parent's;
//! - a page table entry exists exactly for each node (the [`Mmu`] is told of
//!   every change);
//! - nothing is ever mapped onto its own ancestor (no cycles).
//!
//! Subtrees are walked iteratively: a chain of mappings can be as deep as a
//! malicious task makes it, and the kernel stack is small.

use abi::Rights;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

type NodeIdx = u32;

#[derive(Clone, Copy, Debug)]
struct Node {
    space: u32,
    va: u64,
    frame: u64,
    rights: Rights,
    parent: Option<NodeIdx>,
    first_child: Option<NodeIdx>,
    next_sibling: Option<NodeIdx>,
    prev_sibling: Option<NodeIdx>,
}

/// Accessed/dirty status gathered from revoked page-table entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub accessed: bool,
    pub dirty: bool,
}

impl Status {
    pub fn merge(&mut self, o: Status) {
        self.accessed |= o.accessed;
        self.dirty |= o.dirty;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapFail {
    /// No kernel memory (page tables or the space's quota).
    NoMemory,
    /// The destination address may not be mapped (kernel-owned page: KIP, UTCB).
    Reserved,
}

/// What the mapping database needs from the page tables.
pub trait Mmu {
    /// Make `va` in `space` translate to `frame` with `rights` (new or changed).
    fn install(&mut self, space: u32, va: u64, frame: u64, rights: Rights) -> Result<(), MapFail>;
    /// Remove the translation; report its accessed/dirty bits.
    fn remove(&mut self, space: u32, va: u64) -> Status;
    /// Reduce the translation to `rights` (not empty).
    fn restrict(&mut self, space: u32, va: u64, rights: Rights) -> Status;
    /// Account `delta` nodes to `space`; false if that exceeds its quota.
    fn charge_node(&mut self, space: u32, delta: i64) -> bool;
}

/// Nodes are allocated in fixed chunks, never by growing one big vector: a
/// doubling reallocation of megabytes could fail in a fragmented heap, and a
/// failed allocation must be an error for the caller, not a kernel panic.
const CHUNK: usize = 1024;

const EMPTY: Node = Node {
    space: 0,
    va: 0,
    frame: 0,
    rights: Rights::NONE,
    parent: None,
    first_child: None,
    next_sibling: None,
    prev_sibling: None,
};

#[derive(Default)]
struct Arena {
    chunks: Vec<Box<[Node]>>,
    /// Free nodes, linked through `next_sibling`.
    free: Option<NodeIdx>,
    /// Nodes of the last chunk never used yet start here.
    fresh: u32,
}

impl Arena {
    fn alloc(&mut self, n: Node) -> Result<NodeIdx, MapFail> {
        let i = if let Some(i) = self.free {
            self.free = self[i].next_sibling;
            i
        } else {
            if self.fresh as usize == self.chunks.len() * CHUNK {
                let mut v: Vec<Node> = Vec::new();
                v.try_reserve_exact(CHUNK).map_err(|_| MapFail::NoMemory)?;
                v.resize(CHUNK, EMPTY);
                self.chunks.try_reserve(1).map_err(|_| MapFail::NoMemory)?;
                self.chunks.push(v.into_boxed_slice());
            }
            self.fresh += 1;
            self.fresh - 1
        };
        self[i] = n;
        Ok(i)
    }

    fn release(&mut self, i: NodeIdx) {
        self[i] = Node { next_sibling: self.free, ..EMPTY };
        self.free = Some(i);
    }
}

impl core::ops::Index<NodeIdx> for Arena {
    type Output = Node;
    fn index(&self, i: NodeIdx) -> &Node {
        &self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }
}

impl core::ops::IndexMut<NodeIdx> for Arena {
    fn index_mut(&mut self, i: NodeIdx) -> &mut Node {
        &mut self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }
}

#[derive(Default)]
pub struct MappingDb {
    nodes: Arena,
    /// Per space slot: page address -> node.
    index: Vec<BTreeMap<u64, NodeIdx>>,
    live: usize,
}

/// Kernel-memory cost of one node, in bytes, for quota accounting.
pub const NODE_COST: u64 = 96;

impl MappingDb {
    pub const fn new() -> MappingDb {
        MappingDb { nodes: Arena { chunks: Vec::new(), free: None, fresh: 0 }, index: Vec::new(), live: 0 }
    }

    fn idx(&self, space: u32, va: u64) -> Option<NodeIdx> {
        self.index.get(space as usize)?.get(&va).copied()
    }

    fn space_index(&mut self, space: u32) -> &mut BTreeMap<u64, NodeIdx> {
        if self.index.len() <= space as usize {
            self.index.resize_with(space as usize + 1, BTreeMap::new);
        }
        &mut self.index[space as usize]
    }

    /// The frame and rights mapped at page `va` of `space`.
    pub fn lookup(&self, space: u32, va: u64) -> Option<(u64, Rights)> {
        let n = &self.nodes[self.idx(space, va)?];
        Some((n.frame, n.rights))
    }

    /// Number of mappings in the database.
    pub fn len(&self) -> usize {
        self.live
    }
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Mapped pages of `space` in `[start, end)`.
    pub fn pages_in(&self, space: u32, start: u64, end: u64) -> Vec<u64> {
        match self.index.get(space as usize) {
            Some(ix) if start < end => ix.range(start..end).map(|(&va, _)| va).collect(),
            _ => Vec::new(),
        }
    }

    /// Number of mappings of `space`.
    pub fn count_in(&self, space: u32) -> usize {
        self.index.get(space as usize).map_or(0, |ix| ix.len())
    }

    fn alloc_node(&mut self, n: Node) -> Result<NodeIdx, MapFail> {
        let i = self.nodes.alloc(n)?;
        self.live += 1;
        Ok(i)
    }

    /// Give back a node that never made it into the tree.
    fn free_node(&mut self, n: NodeIdx) {
        self.nodes.release(n);
        self.live -= 1;
    }

    fn link_child(&mut self, parent: NodeIdx, child: NodeIdx) {
        let old_first = self.nodes[parent].first_child;
        self.nodes[child].parent = Some(parent);
        self.nodes[child].next_sibling = old_first;
        self.nodes[child].prev_sibling = None;
        if let Some(f) = old_first {
            self.nodes[f].prev_sibling = Some(child);
        }
        self.nodes[parent].first_child = Some(child);
    }

    fn unlink(&mut self, n: NodeIdx) {
        let Node { parent, next_sibling, prev_sibling, .. } = self.nodes[n];
        match prev_sibling {
            Some(p) => self.nodes[p].next_sibling = next_sibling,
            None => {
                if let Some(par) = parent {
                    self.nodes[par].first_child = next_sibling;
                }
            }
        }
        if let Some(s) = next_sibling {
            self.nodes[s].prev_sibling = prev_sibling;
        }
        let node = &mut self.nodes[n];
        node.parent = None;
        node.next_sibling = None;
        node.prev_sibling = None;
    }

    /// The subtree rooted at `root` in pre-order (parents before children).
    fn subtree(&self, root: NodeIdx) -> Vec<NodeIdx> {
        let mut out = Vec::new();
        let mut cur = root;
        loop {
            out.push(cur);
            if let Some(c) = self.nodes[cur].first_child {
                cur = c;
                continue;
            }
            loop {
                if cur == root {
                    return out;
                }
                if let Some(s) = self.nodes[cur].next_sibling {
                    cur = s;
                    break;
                }
                cur = self.nodes[cur].parent.expect("subtree walk left its root");
            }
        }
    }

    fn is_ancestor_or_self(&self, maybe_ancestor: NodeIdx, mut n: NodeIdx) -> bool {
        loop {
            if n == maybe_ancestor {
                return true;
            }
            match self.nodes[n].parent {
                Some(p) => n = p,
                None => return false,
            }
        }
    }

    /// Remove node `n` (which has no children any more).
    fn destroy(&mut self, mmu: &mut impl Mmu, n: NodeIdx) -> Status {
        debug_assert!(self.nodes[n].first_child.is_none());
        self.unlink(n);
        let Node { space, va, .. } = self.nodes[n];
        self.space_index(space).remove(&va);
        let st = mmu.remove(space, va);
        mmu.charge_node(space, -1);
        self.nodes.release(n);
        self.live -= 1;
        st
    }

    /// Take `revoke` from every node of the subtree of `root` (including it);
    /// nodes left without rights are removed. Revoking read removes a mapping
    /// entirely (x86 cannot express write- or execute-only pages).
    fn revoke_subtree(&mut self, mmu: &mut impl Mmu, root: NodeIdx, revoke: Rights) -> Status {
        if self.nodes[root].first_child.is_none() {
            return self.revoke_leaf(mmu, root, revoke);
        }
        let mut st = Status::default();
        let nodes = self.subtree(root);
        // Reduce top-down; remove bottom-up so removed nodes have no children.
        let mut doomed = Vec::new();
        for &n in &nodes {
            let node = self.nodes[n];
            let new = if revoke.readable() { Rights::NONE } else { node.rights.minus(revoke) };
            if new.is_empty() {
                doomed.push(n);
            } else if new != node.rights {
                self.nodes[n].rights = new;
                st.merge(mmu.restrict(node.space, node.va, new));
            }
        }
        for &n in doomed.iter().rev() {
            // A doomed node's children are doomed too (their rights are a subset).
            st.merge(self.destroy(mmu, n));
        }
        st
    }

    /// `revoke_subtree` for a node without children (the common case),
    /// without collecting anything.
    fn revoke_leaf(&mut self, mmu: &mut impl Mmu, n: NodeIdx, revoke: Rights) -> Status {
        let node = self.nodes[n];
        let new = if revoke.readable() { Rights::NONE } else { node.rights.minus(revoke) };
        if new.is_empty() {
            self.destroy(mmu, n)
        } else if new != node.rights {
            self.nodes[n].rights = new;
            mmu.restrict(node.space, node.va, new)
        } else {
            Status::default()
        }
    }

    /// Enter a master-space mapping (a tree root): `frame` at `va` of `space`.
    /// Whatever was mapped there before is flushed first.
    pub fn insert_root(
        &mut self,
        mmu: &mut impl Mmu,
        space: u32,
        va: u64,
        frame: u64,
        rights: Rights,
    ) -> Result<(), MapFail> {
        if let Some(old) = self.idx(space, va) {
            self.revoke_subtree(mmu, old, Rights::RWX);
        }
        let n = self.alloc_node(Node { space, va, frame, rights, ..EMPTY })?;
        if !mmu.charge_node(space, 1) {
            self.free_node(n);
            return Err(MapFail::NoMemory);
        }
        if let Err(e) = mmu.install(space, va, frame, rights) {
            mmu.charge_node(space, -1);
            self.free_node(n);
            return Err(e);
        }
        self.space_index(space).insert(va, n);
        Ok(())
    }

    /// Map (or, with `grant`, move) the page at `from` to `to`, with at most
    /// `rights`. Returns whether anything was mapped: nothing is, silently, if
    /// the source page is not mapped, the rights come out empty, or the
    /// destination is the source or one of its ancestors.
    pub fn map(
        &mut self,
        mmu: &mut impl Mmu,
        from: (u32, u64),
        to: (u32, u64),
        rights: Rights,
        grant: bool,
    ) -> Result<bool, MapFail> {
        let Some(src) = self.idx(from.0, from.1) else { return Ok(false) };
        let s = self.nodes[src];
        let rights = rights.intersect(s.rights);
        if rights.is_empty() || from == to {
            return Ok(false);
        }
        if let Some(existing) = self.idx(to.0, to.1) {
            if self.is_ancestor_or_self(existing, src) {
                return Ok(false);
            }
            let e = self.nodes[existing];
            if !grant && e.parent == Some(src) {
                // Mapping again what was mapped before: rights can only grow.
                let new = e.rights.union(rights);
                if new != e.rights {
                    mmu.install(to.0, to.1, e.frame, new)?;
                    self.nodes[existing].rights = new;
                }
                return Ok(true);
            }
            self.revoke_subtree(mmu, existing, Rights::RWX);
        }
        // A new node for a mapping (a grant moves the existing one).
        let fresh = if grant {
            None
        } else {
            Some(self.alloc_node(Node { space: to.0, va: to.1, frame: s.frame, rights, ..EMPTY })?)
        };
        if !mmu.charge_node(to.0, 1) {
            if let Some(n) = fresh {
                self.free_node(n);
            }
            return Err(MapFail::NoMemory);
        }
        if let Err(e) = mmu.install(to.0, to.1, s.frame, rights) {
            mmu.charge_node(to.0, -1);
            if let Some(n) = fresh {
                self.free_node(n);
            }
            return Err(e);
        }
        if grant {
            mmu.remove(from.0, from.1);
            mmu.charge_node(from.0, -1);
            self.space_index(from.0).remove(&from.1);
            self.space_index(to.0).insert(to.1, src);
            let node = &mut self.nodes[src];
            node.space = to.0;
            node.va = to.1;
            let lost = node.rights.minus(rights);
            node.rights = rights;
            if !lost.is_empty() {
                let mut child = self.nodes[src].first_child;
                while let Some(c) = child {
                    child = self.nodes[c].next_sibling;
                    self.revoke_subtree(mmu, c, lost);
                }
            }
            return Ok(true);
        }
        let n = fresh.expect("allocated above for a map");
        self.link_child(src, n);
        self.space_index(to.0).insert(to.1, n);
        Ok(true)
    }

    /// Revoke `revoke` from everything derived from page `va` of `space`, and
    /// from that mapping itself with `include_self`.
    pub fn unmap(&mut self, mmu: &mut impl Mmu, space: u32, va: u64, revoke: Rights, include_self: bool) -> Status {
        let Some(n) = self.idx(space, va) else { return Status::default() };
        if include_self {
            return self.revoke_subtree(mmu, n, revoke);
        }
        let mut st = Status::default();
        let mut child = self.nodes[n].first_child;
        while let Some(c) = child {
            child = self.nodes[c].next_sibling;
            st.merge(self.revoke_subtree(mmu, c, revoke));
        }
        st
    }

    /// Remove every mapping of `space` and everything derived from them.
    pub fn remove_space(&mut self, mmu: &mut impl Mmu, space: u32) {
        while let Some((&va, _)) = self.index.get(space as usize).and_then(|ix| ix.iter().next()) {
            self.unmap(mmu, space, va, Rights::RWX, true);
        }
    }

    /// Visit every mapping: (space, page address, frame, rights).
    pub fn for_each_mapping(&self, mut f: impl FnMut(u32, u64, u64, Rights)) {
        for (space, ix) in self.index.iter().enumerate() {
            for &n in ix.values() {
                let node = &self.nodes[n];
                f(space as u32, node.va, node.frame, node.rights);
            }
        }
    }

    /// Check the structural invariants (tests, and `kcheck`: `Kernel::check_memory`).
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let mut count = 0;
        for (space, ix) in self.index.iter().enumerate() {
            for (&va, &n) in ix {
                count += 1;
                let node = &self.nodes[n];
                if node.space as usize != space || node.va != va {
                    return Err("index points at wrong node");
                }
                if let Some(p) = node.parent {
                    let parent = &self.nodes[p];
                    if !parent.rights.contains(node.rights) {
                        return Err("child has rights its parent lacks");
                    }
                    if parent.frame != node.frame {
                        return Err("child maps another frame than its parent");
                    }
                    // the node must be on its parent's child list
                    let mut c = parent.first_child;
                    let mut found = false;
                    while let Some(ci) = c {
                        found |= ci == n;
                        c = self.nodes[ci].next_sibling;
                    }
                    if !found {
                        return Err("node missing from its parent's children");
                    }
                }
                if node.rights.is_empty() {
                    return Err("node without rights");
                }
            }
        }
        if count != self.live {
            return Err("live count mismatch");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Page tables as a map, for checking that the MMU sees every change.
    #[derive(Default)]
    struct FakeMmu {
        pt: HashMap<(u32, u64), (u64, Rights)>,
        nodes: HashMap<u32, i64>,
        quota: Option<i64>,
        reserved: Vec<(u32, u64)>,
    }

    impl Mmu for FakeMmu {
        fn install(&mut self, space: u32, va: u64, frame: u64, rights: Rights) -> Result<(), MapFail> {
            if self.reserved.contains(&(space, va)) {
                return Err(MapFail::Reserved);
            }
            self.pt.insert((space, va), (frame, rights));
            Ok(())
        }
        fn remove(&mut self, space: u32, va: u64) -> Status {
            assert!(self.pt.remove(&(space, va)).is_some(), "removing absent pte");
            Status { accessed: true, dirty: false }
        }
        fn restrict(&mut self, space: u32, va: u64, rights: Rights) -> Status {
            let e = self.pt.get_mut(&(space, va)).expect("restricting absent pte");
            assert!(e.1.contains(rights));
            e.1 = rights;
            Status::default()
        }
        fn charge_node(&mut self, space: u32, delta: i64) -> bool {
            let c = self.nodes.entry(space).or_default();
            if delta > 0 && self.quota.is_some_and(|q| *c + delta > q) {
                return false;
            }
            *c += delta;
            true
        }
    }

    const A: u32 = 0;
    const B: u32 = 1;
    const C: u32 = 2;

    fn setup() -> (MappingDb, FakeMmu) {
        let mut db = MappingDb::new();
        let mut mmu = FakeMmu::default();
        for p in 0..4u64 {
            db.insert_root(&mut mmu, A, 0x1000 * p, 0x100000 + 0x1000 * p, Rights::RWX).unwrap();
        }
        (db, mmu)
    }

    #[test]
    fn recursive_unmap_a_b_c() {
        let (mut db, mut mmu) = setup();
        assert!(db.map(&mut mmu, (A, 0), (B, 0x5000), Rights::RW, false).unwrap());
        assert!(db.map(&mut mmu, (B, 0x5000), (C, 0x9000), Rights::RWX, false).unwrap());
        assert_eq!(db.lookup(C, 0x9000), Some((0x100000, Rights::RW)), "rights capped by source");
        db.unmap(&mut mmu, A, 0, Rights::RWX, false);
        assert_eq!(db.lookup(B, 0x5000), None);
        assert_eq!(db.lookup(C, 0x9000), None);
        assert_eq!(db.lookup(A, 0), Some((0x100000, Rights::RWX)), "own mapping kept");
        assert!(!mmu.pt.contains_key(&(C, 0x9000)));
        db.check_invariants().unwrap();
    }

    #[test]
    fn write_revocation_keeps_read() {
        let (mut db, mut mmu) = setup();
        db.map(&mut mmu, (A, 0x1000), (B, 0x1000), Rights::RW, false).unwrap();
        db.map(&mut mmu, (B, 0x1000), (C, 0x1000), Rights::RW, false).unwrap();
        db.unmap(&mut mmu, A, 0x1000, Rights::W, false);
        assert_eq!(db.lookup(B, 0x1000), Some((0x101000, Rights::R)));
        assert_eq!(db.lookup(C, 0x1000), Some((0x101000, Rights::R)));
        assert_eq!(mmu.pt[&(C, 0x1000)].1, Rights::R);
        db.check_invariants().unwrap();
    }

    #[test]
    fn grant_moves_the_page() {
        let (mut db, mut mmu) = setup();
        db.map(&mut mmu, (A, 0x2000), (B, 0x2000), Rights::RW, false).unwrap();
        db.map(&mut mmu, (B, 0x2000), (C, 0x3000), Rights::R, false).unwrap();
        assert!(db.map(&mut mmu, (B, 0x2000), (C, 0x7000), Rights::RW, true).unwrap());
        assert_eq!(db.lookup(B, 0x2000), None, "granter loses it");
        assert_eq!(db.lookup(C, 0x7000), Some((0x102000, Rights::RW)));
        assert_eq!(db.lookup(C, 0x3000), Some((0x102000, Rights::R)), "derived mappings survive a grant");
        // The grantee's page is still derived from A's.
        db.unmap(&mut mmu, A, 0x2000, Rights::RWX, false);
        assert_eq!(db.lookup(C, 0x7000), None);
        assert_eq!(db.lookup(C, 0x3000), None);
        db.check_invariants().unwrap();
    }

    #[test]
    fn no_cycles_and_no_unowned_frames() {
        let (mut db, mut mmu) = setup();
        db.map(&mut mmu, (A, 0), (B, 0), Rights::RW, false).unwrap();
        // B maps back onto A's original: refused (would destroy its own source).
        assert!(!db.map(&mut mmu, (B, 0), (A, 0), Rights::RW, false).unwrap());
        assert_eq!(db.lookup(A, 0), Some((0x100000, Rights::RWX)));
        // B cannot map what it does not have.
        assert!(!db.map(&mut mmu, (B, 0x1000), (C, 0), Rights::RW, false).unwrap());
        assert_eq!(db.lookup(C, 0), None);
        db.check_invariants().unwrap();
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let (mut db, mut mmu) = setup();
        let mut prev = (A, 0u64);
        for i in 1..20_000u64 {
            let next = (B, i * 0x1000);
            assert!(db.map(&mut mmu, prev, next, Rights::RW, false).unwrap());
            prev = next;
        }
        db.unmap(&mut mmu, A, 0, Rights::RWX, false);
        assert_eq!(db.count_in(B), 0);
        assert_eq!(db.len(), 4);
        db.check_invariants().unwrap();
    }

    #[test]
    fn space_removal_revokes_derived() {
        let (mut db, mut mmu) = setup();
        db.map(&mut mmu, (A, 0), (B, 0), Rights::RW, false).unwrap();
        db.map(&mut mmu, (B, 0), (C, 0), Rights::RW, false).unwrap();
        db.map(&mut mmu, (A, 0x1000), (C, 0x1000), Rights::RW, false).unwrap();
        db.remove_space(&mut mmu, B);
        assert_eq!(db.lookup(C, 0), None, "what B handed out dies with B");
        assert_eq!(db.lookup(C, 0x1000), Some((0x101000, Rights::RW)));
        assert_eq!(db.count_in(B), 0);
        assert_eq!(mmu.nodes[&B], 0, "node charges returned");
        db.check_invariants().unwrap();
    }

    #[test]
    fn quota_and_reserved_pages_fail_cleanly() {
        let (mut db, mut mmu) = setup();
        mmu.quota = Some(1);
        db.map(&mut mmu, (A, 0), (B, 0), Rights::R, false).unwrap();
        assert_eq!(db.map(&mut mmu, (A, 0x1000), (B, 0x1000), Rights::R, false), Err(MapFail::NoMemory));
        assert_eq!(db.lookup(B, 0x1000), None);
        mmu.quota = None;
        mmu.reserved.push((C, 0x5000));
        assert_eq!(db.map(&mut mmu, (A, 0), (C, 0x5000), Rights::R, false), Err(MapFail::Reserved));
        db.check_invariants().unwrap();
    }

    /// Reference model: every mapping with its explicit derivation chain.
    #[derive(Clone, Default)]
    struct Model {
        /// (space, va) -> (frame, rights, id, parent id)
        maps: HashMap<(u32, u64), (u64, Rights, u64, Option<u64>)>,
        next_id: u64,
    }

    impl Model {
        fn key_of(&self, id: u64) -> (u32, u64) {
            *self.maps.iter().find(|(_, v)| v.2 == id).unwrap().0
        }
        fn descendants(&self, id: u64) -> Vec<u64> {
            let mut out = vec![];
            for v in self.maps.values() {
                if v.3 == Some(id) {
                    out.push(v.2);
                    out.extend(self.descendants(v.2));
                }
            }
            out
        }
        fn ancestors_or_self(&self, id: u64) -> Vec<u64> {
            let mut out = vec![id];
            let mut cur = self.maps[&self.key_of(id)].3;
            while let Some(p) = cur {
                out.push(p);
                cur = self.maps[&self.key_of(p)].3;
            }
            out
        }
        fn revoke(&mut self, id: u64, revoke: Rights) {
            let mut ids = vec![id];
            ids.extend(self.descendants(id));
            for i in ids {
                let k = self.key_of(i);
                let e = self.maps.get_mut(&k).unwrap();
                e.1 = if revoke.readable() { Rights::NONE } else { e.1.minus(revoke) };
            }
            self.maps.retain(|_, v| !v.1.is_empty());
        }
        fn map(&mut self, from: (u32, u64), to: (u32, u64), rights: Rights, grant: bool) {
            let Some(&(frame, srights, sid, _)) = self.maps.get(&from) else { return };
            let rights = rights.intersect(srights);
            if rights.is_empty() || from == to {
                return;
            }
            if let Some(&(_, erights, eid, eparent)) = self.maps.get(&to) {
                if self.ancestors_or_self(sid).contains(&eid) {
                    return;
                }
                if !grant && eparent == Some(sid) {
                    self.maps.get_mut(&to).unwrap().1 = erights.union(rights);
                    return;
                }
                self.revoke(eid, Rights::RWX);
            }
            if grant {
                let mut e = self.maps.remove(&from).unwrap();
                let lost = e.1.minus(rights);
                e.1 = rights;
                self.maps.insert(to, e);
                if !lost.is_empty() {
                    for d in self.maps.values().filter(|v| v.3 == Some(sid)).map(|v| v.2).collect::<Vec<_>>() {
                        self.revoke(d, lost);
                    }
                }
            } else {
                self.next_id += 1;
                self.maps.insert(to, (frame, rights, self.next_id, Some(sid)));
            }
        }
        fn unmap(&mut self, at: (u32, u64), revoke: Rights, include_self: bool) {
            let Some(&(_, _, id, _)) = self.maps.get(&at) else { return };
            if include_self {
                self.revoke(id, revoke);
            } else {
                for c in self.maps.values().filter(|v| v.3 == Some(id)).map(|v| v.2).collect::<Vec<_>>() {
                    self.revoke(c, revoke);
                }
            }
        }
    }

    /// A small deterministic generator (xorshift64*), so runs are reproducible.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_operations_match_reference_model() {
        for seed in 1..=20u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut db = MappingDb::new();
            let mut mmu = FakeMmu::default();
            let mut model = Model { next_id: 1000, ..Model::default() };
            const SPACES: u32 = 4;
            const PAGES: u64 = 6;
            // Space 0 is the master space: it owns frames 0..PAGES.
            for p in 0..PAGES {
                db.insert_root(&mut mmu, 0, p * 0x1000, 0x100000 + p * 0x1000, Rights::RWX).unwrap();
                model.next_id += 1;
                model.maps.insert((0, p * 0x1000), (0x100000 + p * 0x1000, Rights::RWX, model.next_id, None));
            }
            let mut peak = 0;
            for step in 0..1500 {
                if step % 40 == 0 {
                    // The master space gets its frames back now and then (as the
                    // root pager's idempotent mappings would on a fault).
                    for p in 0..PAGES {
                        let k = (0, p * 0x1000);
                        if !model.maps.contains_key(&k) {
                            db.insert_root(&mut mmu, 0, k.1, 0x100000 + k.1, Rights::RWX).unwrap();
                            model.next_id += 1;
                            model.maps.insert(k, (0x100000 + k.1, Rights::RWX, model.next_id, None));
                        }
                    }
                }
                // Mostly operate on pages that are mapped, so trees grow deep.
                let mut keys: Vec<_> = model.maps.keys().copied().collect();
                keys.sort();
                let a = if rng.below(5) != 0 && !keys.is_empty() {
                    keys[rng.below(keys.len() as u64) as usize]
                } else {
                    (rng.below(SPACES as u64) as u32, rng.below(PAGES) * 0x1000)
                };
                let b = (rng.below(SPACES as u64) as u32, rng.below(PAGES) * 0x1000);
                let rights = Rights(rng.below(8) as u8);
                match rng.below(10) {
                    0..=4 => {
                        db.map(&mut mmu, a, b, rights, false).unwrap();
                        model.map(a, b, rights, false);
                    }
                    5 | 6 => {
                        db.map(&mut mmu, a, b, rights, true).unwrap();
                        model.map(a, b, rights, true);
                    }
                    _ => {
                        let own = rng.below(2) == 0;
                        db.unmap(&mut mmu, a.0, a.1, rights, own);
                        model.unmap(a, rights, own);
                    }
                }
                db.check_invariants().unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
                peak = peak.max(db.len());
                for s in 0..SPACES {
                    for p in 0..PAGES {
                        let k = (s, p * 0x1000);
                        let want = model.maps.get(&k).map(|v| (v.0, v.1));
                        assert_eq!(db.lookup(k.0, k.1), want, "seed {seed} step {step} db at {k:?}");
                        assert_eq!(mmu.pt.get(&k).copied(), want, "seed {seed} step {step} pte at {k:?}");
                    }
                }
            }
            assert!(peak > PAGES as usize + 8, "seed {seed}: the run never built derived mappings ({peak})");
        }
    }
}
