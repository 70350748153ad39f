//! The buffer of a pipe, shaped like Linux's so that programs see the same
//! counts: a ring of at most `slots` pages.
//!
//! Linux's capacity is a number of page slots, not of bytes, and which write
//! fits where follows from that: the part of a write beyond its whole pages
//! is merged into the last page if it fits there, everything else takes new
//! pages; a page frees its slot only when all of it has been read. The
//! PIPE_BUF guarantee falls out (a write of at most one page is never split)
//! and so do the counts a nonblocking writer sees. In packet mode (O_DIRECT)
//! every write starts a page and a read takes at most one page.
//!
//! Kept apart from the server (which parks and wakes the threads) so these
//! rules are tested on the host.

use crate::linux::errno::*;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

pub const PAGE: usize = 4096;
/// Writes of at most this many bytes are atomic (never interleaved).
pub const PIPE_BUF: usize = 4096;
/// A new pipe's slots (64 KiB, as on Linux).
pub const DEFAULT_SLOTS: usize = 16;

/// What a read may do now.
#[derive(Debug, PartialEq, Eq)]
pub enum PipeRead {
    Data(Vec<u8>),
    /// Empty and no writer left: end of file.
    Eof,
    /// Empty, but a writer may still write: wait (or EAGAIN).
    Empty,
}

#[derive(Debug)]
struct Page {
    /// Bytes written into the page; those before `start` were read.
    bytes: Vec<u8>,
    start: usize,
}

impl Page {
    fn len(&self) -> usize {
        self.bytes.len() - self.start
    }
}

#[derive(Debug)]
pub struct PipeBuffer {
    pages: VecDeque<Page>,
    slots: usize,
    /// Packet mode (pipe2 O_DIRECT).
    packet: bool,
    /// Open file descriptions of the read end and of the write end.
    pub readers: u32,
    pub writers: u32,
}

impl PipeBuffer {
    /// A pipe with one reader and one writer (what pipe2 creates).
    pub fn new(packet: bool) -> Self {
        PipeBuffer { pages: VecDeque::new(), slots: DEFAULT_SLOTS, packet, readers: 1, writers: 1 }
    }

    /// Bytes in the pipe (FIONREAD).
    pub fn len(&self) -> usize {
        self.pages.iter().map(Page::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Pages in use (each holds a 4 KiB buffer).
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// The capacity in bytes (F_GETPIPE_SZ).
    pub fn capacity(&self) -> usize {
        self.slots * PAGE
    }

    /// Copy out up to `max` bytes without taking them: the reader takes
    /// ([`consume`](Self::consume)) only what reached its buffer, so a bad
    /// buffer loses nothing. A read of 0 bytes returns no data at once.
    pub fn peek(&self, max: usize) -> PipeRead {
        if max == 0 {
            return PipeRead::Data(Vec::new());
        }
        if self.pages.is_empty() {
            return if self.writers == 0 { PipeRead::Eof } else { PipeRead::Empty };
        }
        let mut out = Vec::new();
        for p in &self.pages {
            let n = p.len().min(max - out.len());
            out.extend_from_slice(&p.bytes[p.start..p.start + n]);
            if out.len() == max || self.packet {
                break;
            }
        }
        PipeRead::Data(out)
    }

    /// Remove the first `n` bytes (those a reader got); in packet mode the
    /// rest of a page a read took from is dropped. Returns the pages freed.
    pub fn consume(&mut self, mut n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        if self.packet {
            self.pages.pop_front();
            return 1;
        }
        let mut freed = 0;
        while n > 0 {
            let Some(p) = self.pages.front_mut() else { break };
            let k = n.min(p.len());
            p.start += k;
            n -= k;
            if p.len() == 0 {
                self.pages.pop_front();
                freed += 1;
            }
        }
        freed
    }

    /// Of the first `n` bytes a read got before the reader's buffer faulted,
    /// how many it keeps: whole pages only. Linux's pipe_read copies a
    /// page's bytes in one piece and takes nothing of a page it could not
    /// copy whole (EFAULT if that was the first).
    pub fn whole_pages_within(&self, n: usize) -> usize {
        let mut kept = 0;
        for p in &self.pages {
            if kept + p.len() > n {
                break;
            }
            kept += p.len();
        }
        kept
    }

    /// Drop everything (the last reader is gone). Returns the pages freed.
    pub fn clear(&mut self) -> usize {
        let n = self.pages.len();
        self.pages.clear();
        n
    }

    /// Whether the `chars` bytes of a write that are not whole pages may
    /// be merged into the last page (Linux does that first, and only then).
    pub fn can_merge(&self, chars: usize) -> bool {
        !self.packet && chars > 0 && self.pages.back().is_some_and(|p| p.bytes.len() + chars <= PAGE)
    }

    /// Merge `bytes` into the last page (after [`can_merge`](Self::can_merge)).
    pub fn merge(&mut self, bytes: &[u8]) {
        if let Some(p) = self.pages.back_mut() {
            let n = bytes.len().min(PAGE - p.bytes.len());
            p.bytes.extend_from_slice(&bytes[..n]);
        }
    }

    /// Whether a new page may be added (poll's POLLOUT).
    pub fn has_free_slot(&self) -> bool {
        self.pages.len() < self.slots
    }

    /// Add a page holding `bytes` (at most a page; after `has_free_slot`).
    pub fn push_page(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(PAGE);
        let mut v = Vec::with_capacity(PAGE);
        v.extend_from_slice(&bytes[..n]);
        self.pages.push_back(Page { bytes: v, start: 0 });
    }

    /// F_SETPIPE_SZ: a power-of-two number of pages, at least one; the
    /// pages in use must fit. Returns the new capacity in bytes.
    pub fn set_capacity(&mut self, want: u32) -> SysResult<usize> {
        if want > 1 << 31 {
            return Err(EINVAL);
        }
        let size = (want as usize).max(PAGE).next_power_of_two();
        let slots = size / PAGE;
        if slots < self.pages.len() {
            return Err(EBUSY);
        }
        self.slots = slots;
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read as the server does it: peek, then take what was delivered.
    fn read(p: &mut PipeBuffer, max: usize) -> PipeRead {
        let r = p.peek(max);
        if let PipeRead::Data(d) = &r {
            p.consume(d.len());
        }
        r
    }

    /// A write as the server does it (Linux's algorithm), without waiting:
    /// the bytes that went in.
    fn write(p: &mut PipeBuffer, data: &[u8]) -> usize {
        let chars = data.len() % PAGE;
        let mut done = 0;
        if p.can_merge(chars) {
            p.merge(&data[..chars]);
            done = chars;
        }
        while done < data.len() && p.has_free_slot() {
            let n = (data.len() - done).min(PAGE);
            p.push_page(&data[done..done + n]);
            done += n;
        }
        done
    }

    #[test]
    fn bytes_come_out_in_order_and_reads_take_what_is_there() {
        let mut p = PipeBuffer::new(false);
        assert_eq!(write(&mut p, b"hello "), 6);
        assert_eq!(write(&mut p, b"world"), 5);
        assert_eq!(p.pages(), 1, "small writes share a page");
        assert_eq!(read(&mut p, 3), PipeRead::Data(b"hel".to_vec()));
        assert_eq!(read(&mut p, 100), PipeRead::Data(b"lo world".to_vec()));
        assert_eq!(read(&mut p, 100), PipeRead::Empty);
        assert_eq!(read(&mut p, 0), PipeRead::Data(Vec::new()), "a zero-byte read never waits");
        assert_eq!(p.pages(), 0, "a page read to the end is freed");
    }

    #[test]
    fn a_partly_delivered_read_leaves_the_rest_in_the_pipe() {
        let mut p = PipeBuffer::new(false);
        write(&mut p, b"abcdef");
        assert_eq!(p.peek(6), PipeRead::Data(b"abcdef".to_vec()));
        p.consume(2); // the reader's buffer took two bytes
        assert_eq!(read(&mut p, 100), PipeRead::Data(b"cdef".to_vec()));
    }

    #[test]
    fn end_of_file_only_when_empty_and_no_writer() {
        let mut p = PipeBuffer::new(false);
        write(&mut p, b"tail");
        p.writers = 0;
        assert_eq!(read(&mut p, 100), PipeRead::Data(b"tail".to_vec()));
        assert_eq!(read(&mut p, 100), PipeRead::Eof);
    }

    #[test]
    fn capacity_is_in_page_slots_as_on_linux() {
        let mut p = PipeBuffer::new(false);
        let big = [1u8; 70000];
        assert_eq!(write(&mut p, &big), 65536, "16 pages fill a new pipe");
        assert!(!p.has_free_slot());
        p.consume(100);
        assert_eq!(write(&mut p, &[2; 100]), 0, "reading part of a page frees no slot");
        p.consume(PAGE - 100);
        assert!(p.has_free_slot(), "reading the rest of it does");
        assert_eq!(write(&mut p, &[3; 10]), 10);
        assert_eq!(p.len(), 65536 - PAGE + 10);
    }

    #[test]
    fn a_write_of_at_most_a_page_is_never_split() {
        let mut p = PipeBuffer::new(false);
        write(&mut p, &[0; 4000]);
        // 200 bytes do not fit after the first 4000: a new page, whole.
        assert!(!p.can_merge(200));
        assert_eq!(write(&mut p, &[1; 200]), 200);
        assert_eq!(p.pages(), 2);
        assert_eq!(p.peek(5000), PipeRead::Data([&[0u8; 4000][..], &[1u8; 200][..]].concat()));
        // Only the part beyond whole pages is merged: 4096 + 8 puts 8 in the
        // last page first, then a whole page.
        let mut q = PipeBuffer::new(false);
        write(&mut q, b"x");
        let data: Vec<u8> = (0..PAGE + 8).map(|i| i as u8).collect();
        assert_eq!(write(&mut q, &data), PAGE + 8);
        assert_eq!(q.pages(), 2);
    }

    #[test]
    fn packet_mode_keeps_writes_apart() {
        let mut p = PipeBuffer::new(true);
        write(&mut p, b"one");
        write(&mut p, b"two");
        assert_eq!(p.pages(), 2, "no merging");
        assert_eq!(read(&mut p, 100), PipeRead::Data(b"one".to_vec()), "a read takes one packet");
        assert_eq!(p.peek(2), PipeRead::Data(b"tw".to_vec()));
        p.consume(2);
        assert_eq!(p.pages(), 0, "the rest of a packet read short is dropped");
    }

    #[test]
    fn capacity_changes_round_to_pages_and_keep_the_data() {
        let mut p = PipeBuffer::new(false);
        assert_eq!(p.set_capacity(0), Ok(4096));
        assert_eq!(p.set_capacity(5000), Ok(8192));
        assert_eq!(p.set_capacity((1 << 31) + 1), Err(EINVAL));
        assert_eq!(write(&mut p, &[7; 9000]), 8192);
        assert_eq!(p.set_capacity(4096), Err(EBUSY));
        assert_eq!(p.capacity(), 8192);
        assert_eq!(p.clear(), 2);
        assert!(p.is_empty());
    }

    #[test]
    fn a_read_that_faults_keeps_whole_pages_only() {
        let mut p = PipeBuffer::new(false);
        p.writers = 1;
        p.push_page(&[1; 200]);
        p.push_page(&[2; 300]);
        assert_eq!(p.whole_pages_within(50), 0, "nothing of the first page");
        assert_eq!(p.whole_pages_within(200), 200);
        assert_eq!(p.whole_pages_within(499), 200, "the second page was not whole");
        assert_eq!(p.whole_pages_within(500), 500);
        p.consume(20);
        assert_eq!(p.whole_pages_within(180), 180, "what is left of a page counts as the page");
    }
}
