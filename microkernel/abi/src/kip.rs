//! The kernel interface page: a read-only page at [`crate::KIP_ADDR`] in every
//! address space. It tells user code what the kernel is, what time it is, how
//! physical memory is laid out, which boot modules exist and who the initial
//! servers are. The kernel updates the clock word on every timer tick.

use crate::ThreadId;

pub const KIP_MAGIC: u32 = 0x4b34_4c4d; // "ML4K"
pub const API_VERSION: u32 = 1;
pub const MAX_MEM_DESCS: usize = 32;
pub const MAX_MODULES: usize = 8;
pub const CMDLINE_LEN: usize = 256;
pub const MODULE_NAME_LEN: usize = 56;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum MemType {
    /// Free RAM, owned by the root pager.
    Conventional = 1,
    /// Firmware, ACPI, holes: not RAM anyone may use.
    Reserved = 2,
    /// Used by the kernel (image, its memory pool).
    Kernel = 3,
    /// A boot module (the root pager may hand it to the servers that need it).
    BootModule = 4,
}

#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct MemDesc {
    pub start: u64,
    pub end: u64,
    pub kind: u32,
    pub _pad: u32,
}

#[derive(Clone, Copy)]
#[repr(C)]
pub struct ModuleDesc {
    pub start: u64,
    pub size: u64,
    pub name: [u8; MODULE_NAME_LEN],
}

impl ModuleDesc {
    pub fn name(&self) -> &str {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(MODULE_NAME_LEN);
        core::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }
}

#[repr(C)]
pub struct Kip {
    pub magic: u32,
    pub api_version: u32,
    /// TSC ticks per second (calibrated at boot against the PIT).
    pub tsc_hz: u64,
    /// TSC value at boot.
    pub boot_tsc: u64,
    /// Wall-clock seconds since the Unix epoch at boot (from the CMOS RTC).
    pub boot_epoch_secs: u64,
    /// Microseconds since boot, updated every timer tick.
    pub clock_us: u64,
    /// Timer tick period in microseconds.
    pub tick_us: u64,
    /// The root pager's main thread.
    pub root_pager: ThreadId,
    /// The second initial server (linux-server, or a test task).
    pub root_server: ThreadId,
    /// Physical memory size covered by the descriptors (end of the highest RAM).
    pub phys_end: u64,
    pub mem_desc_count: u32,
    pub module_count: u32,
    pub mem_descs: [MemDesc; MAX_MEM_DESCS],
    pub modules: [ModuleDesc; MAX_MODULES],
    /// The kernel command line (NUL-terminated).
    pub cmdline: [u8; CMDLINE_LEN],
    /// How address spaces are tagged in the TLB ([`TlbMode`] as a number).
    pub tlb_mode: u32,
    /// Window slots that hold small spaces (bit `n` = slot `n`).
    pub small_slots: u32,
}

/// How the kernel keeps TLB entries of several address spaces apart: the
/// `tlb=` command-line choice, or by default the best the CPU offers (PCID,
/// else small spaces when it has protection keys, else plain).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum TlbMode {
    /// Untagged: every address-space switch loads CR3 and flushes the TLB.
    #[default]
    Plain = 0,
    /// Each space has a PCID; switches keep the other spaces' entries.
    Pcid = 1,
    /// Small spaces share the window of every page table and are told apart
    /// by protection keys; switching to one loads no CR3.
    Small = 2,
}

impl TlbMode {
    pub fn from_u32(v: u32) -> Option<TlbMode> {
        match v {
            0 => Some(TlbMode::Plain),
            1 => Some(TlbMode::Pcid),
            2 => Some(TlbMode::Small),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TlbMode::Plain => "plain",
            TlbMode::Pcid => "pcid",
            TlbMode::Small => "small",
        }
    }
    pub fn from_name(s: &str) -> Option<TlbMode> {
        [TlbMode::Plain, TlbMode::Pcid, TlbMode::Small].into_iter().find(|m| m.name() == s)
    }
}

impl Kip {
    pub fn cmdline(&self) -> &str {
        let len = self.cmdline.iter().position(|&b| b == 0).unwrap_or(CMDLINE_LEN);
        core::str::from_utf8(&self.cmdline[..len]).unwrap_or("")
    }
    pub fn mem_descs(&self) -> &[MemDesc] {
        &self.mem_descs[..(self.mem_desc_count as usize).min(MAX_MEM_DESCS)]
    }
    pub fn modules(&self) -> &[ModuleDesc] {
        &self.modules[..(self.module_count as usize).min(MAX_MODULES)]
    }
    /// Is the word `flag` on the kernel command line (e.g. `quiet`)?
    pub fn cmdline_flag(&self, flag: &str) -> bool {
        self.cmdline().split_ascii_whitespace().any(|w| w == flag)
    }

    /// The value of `key=value` on the kernel command line.
    pub fn cmdline_arg(&self, key: &str) -> Option<&str> {
        crate::kip::cmdline_arg(self.cmdline(), key)
    }

    pub fn tlb(&self) -> TlbMode {
        TlbMode::from_u32(self.tlb_mode).unwrap_or(TlbMode::Plain)
    }
}

/// The value of `key=value` in a space-separated command line.
pub fn cmdline_arg<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_ascii_whitespace().find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

const _: () = assert!(core::mem::size_of::<Kip>() <= 4096);
/// Where `root_server` sits in the KIP: the libc shim reads the
/// linux-server's thread ID from there (libc-shim/overlay/arch/x86_64/l4shim.h).
pub const ROOT_SERVER_OFFSET: usize = 56;
const _: () = assert!(core::mem::offset_of!(Kip, root_server) == ROOT_SERVER_OFFSET);

#[cfg(test)]
mod tests {
    #[test]
    fn cmdline_args() {
        let c = "test=ipc tlb=small  quiet";
        assert_eq!(super::cmdline_arg(c, "test"), Some("ipc"));
        assert_eq!(super::cmdline_arg(c, "tlb"), Some("small"));
        assert_eq!(super::cmdline_arg(c, "quiet"), None);
        assert_eq!(super::cmdline_arg(c, "te"), None);
    }

    #[test]
    fn tlb_mode_names_round_trip() {
        use super::TlbMode;
        for m in [TlbMode::Plain, TlbMode::Pcid, TlbMode::Small] {
            assert_eq!(TlbMode::from_name(m.name()), Some(m));
            assert_eq!(TlbMode::from_u32(m as u32), Some(m));
        }
        assert_eq!(TlbMode::from_name("fast"), None);
        assert_eq!(TlbMode::from_u32(3), None);
    }
}
