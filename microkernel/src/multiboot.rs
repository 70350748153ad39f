//! Reading the multiboot (version 1) information structure.
//!
//! The boot loader (QEMU's `-kernel`) leaves the memory map, the boot modules
//! (pager, linux-server, initrd) and the command line in physical memory. This
//! copies what the kernel needs into fixed-size arrays, since it runs before
//! the kernel has a heap. Layout: the Multiboot Specification 0.6.96, §3.3.

use crate::phys::PhysMem;

pub const BOOTLOADER_MAGIC: u32 = 0x2bad_b002;
pub const MAX_RANGES: usize = 32;
pub const MAX_MODULES: usize = 8;
pub const CMDLINE_MAX: usize = 256;
pub const NAME_MAX: usize = 56;

const FLAG_CMDLINE: u32 = 1 << 2;
const FLAG_MODS: u32 = 1 << 3;
const FLAG_MMAP: u32 = 1 << 6;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemRange {
    pub start: u64,
    pub end: u64,
    /// Multiboot type: 1 = available RAM, anything else is reserved.
    pub available: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module {
    pub start: u64,
    pub end: u64,
    /// The module's name: the last path component of the first word of its
    /// string (QEMU passes the file name given to `-initrd`).
    pub name: [u8; NAME_MAX],
}

impl Module {
    pub fn name(&self) -> &str {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_MAX);
        core::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }
}

#[derive(Clone, Debug)]
pub struct BootInfo {
    pub ranges: [MemRange; MAX_RANGES],
    pub range_count: usize,
    pub modules: [Module; MAX_MODULES],
    pub module_count: usize,
    pub cmdline: [u8; CMDLINE_MAX],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    BadMagic(u32),
    NoMemoryMap,
}

impl BootInfo {
    pub fn ranges(&self) -> &[MemRange] {
        &self.ranges[..self.range_count]
    }
    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }
    pub fn cmdline(&self) -> &str {
        let len = self.cmdline.iter().position(|&b| b == 0).unwrap_or(CMDLINE_MAX);
        core::str::from_utf8(&self.cmdline[..len]).unwrap_or("")
    }
    /// End of the highest available RAM.
    pub fn ram_end(&self) -> u64 {
        self.ranges().iter().filter(|r| r.available).map(|r| r.end).max().unwrap_or(0)
    }

    pub fn parse(mem: &impl PhysMem, magic: u32, info_pa: u64) -> Result<BootInfo, BootInfoError> {
        if magic != BOOTLOADER_MAGIC {
            return Err(BootInfoError::BadMagic(magic));
        }
        let r32 = |pa: u64| {
            let mut b = [0u8; 4];
            mem.read_bytes(pa, &mut b);
            u32::from_le_bytes(b)
        };
        let r64 = |pa: u64| r32(pa) as u64 | (r32(pa + 4) as u64) << 32;
        let flags = r32(info_pa);
        let mut info = BootInfo {
            ranges: [MemRange::default(); MAX_RANGES],
            range_count: 0,
            modules: [Module { start: 0, end: 0, name: [0; NAME_MAX] }; MAX_MODULES],
            module_count: 0,
            cmdline: [0; CMDLINE_MAX],
        };
        if flags & FLAG_MMAP == 0 {
            return Err(BootInfoError::NoMemoryMap);
        }
        let (len, addr) = (r32(info_pa + 44) as u64, r32(info_pa + 48) as u64);
        let mut p = addr;
        while p + 24 <= addr + len && info.range_count < MAX_RANGES {
            let size = r32(p) as u64;
            let base = r64(p + 4);
            let length = r64(p + 12);
            let kind = r32(p + 20);
            if length > 0 {
                info.ranges[info.range_count] =
                    MemRange { start: base, end: base.saturating_add(length), available: kind == 1 };
                info.range_count += 1;
            }
            p += size + 4;
        }
        if flags & FLAG_CMDLINE != 0 {
            read_cstr(mem, r32(info_pa + 16) as u64, &mut info.cmdline);
        }
        if flags & FLAG_MODS != 0 {
            let (count, addr) = (r32(info_pa + 20) as usize, r32(info_pa + 24) as u64);
            for i in 0..count.min(MAX_MODULES) {
                let m = addr + i as u64 * 16;
                let mut string = [0u8; CMDLINE_MAX];
                read_cstr(mem, r32(m + 8) as u64, &mut string);
                info.modules[i] = Module { start: r32(m) as u64, end: r32(m + 4) as u64, name: module_name(&string) };
                info.module_count += 1;
            }
        }
        Ok(info)
    }
}

fn read_cstr(mem: &impl PhysMem, pa: u64, out: &mut [u8]) {
    if pa == 0 {
        return;
    }
    let n = out.len() - 1;
    for (i, slot) in out[..n].iter_mut().enumerate() {
        let mut b = [0u8];
        mem.read_bytes(pa + i as u64, &mut b);
        if b[0] == 0 {
            break;
        }
        *slot = b[0];
    }
}

/// Basename of the first word of a module string.
fn module_name(string: &[u8]) -> [u8; NAME_MAX] {
    let len = string.iter().position(|&b| b == 0 || b == b' ').unwrap_or(string.len());
    let word = &string[..len];
    let base = match word.iter().rposition(|&b| b == b'/') {
        Some(i) => &word[i + 1..],
        None => word,
    };
    let mut name = [0u8; NAME_MAX];
    let n = base.len().min(NAME_MAX - 1);
    name[..n].copy_from_slice(&base[..n]);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phys::emulated::EmulatedMem;

    fn put32(m: &mut EmulatedMem, pa: u64, v: u32) {
        m.write_bytes(pa, &v.to_le_bytes());
    }
    fn put64(m: &mut EmulatedMem, pa: u64, v: u64) {
        m.write_bytes(pa, &v.to_le_bytes());
    }

    /// Build an info structure the way QEMU does.
    fn sample() -> EmulatedMem {
        let mut m = EmulatedMem::default();
        m.add_range(0x9000, 0xc000);
        let info = 0x9000;
        put32(&mut m, info, FLAG_MMAP | FLAG_MODS | FLAG_CMDLINE | 1);
        put32(&mut m, info + 16, 0xa800); // cmdline
        m.write_bytes(0xa800, b"test=ipc quiet\0");
        put32(&mut m, info + 20, 2); // mods_count
        put32(&mut m, info + 24, 0xa000); // mods_addr
        put32(&mut m, 0xa000, 0x200000);
        put32(&mut m, 0xa004, 0x230000);
        put32(&mut m, 0xa008, 0xa900);
        put32(&mut m, 0xa010, 0x230000);
        put32(&mut m, 0xa014, 0x231234);
        put32(&mut m, 0xa018, 0xa980);
        m.write_bytes(0xa900, b"/tmp/build/pager.elf arg\0");
        m.write_bytes(0xa980, b"initrd.cpio\0");
        // two mmap entries, 24 bytes each (size field = 20)
        put32(&mut m, info + 44, 48);
        put32(&mut m, info + 48, 0xb000);
        put32(&mut m, 0xb000, 20);
        put64(&mut m, 0xb004, 0);
        put64(&mut m, 0xb00c, 0x9fc00);
        put32(&mut m, 0xb014, 1);
        put32(&mut m, 0xb018, 20);
        put64(&mut m, 0xb01c, 0x100000);
        put64(&mut m, 0xb024, 0x1ff0_0000);
        put32(&mut m, 0xb02c, 1);
        m
    }

    #[test]
    fn parses_memory_map_modules_and_cmdline() {
        let m = sample();
        let info = BootInfo::parse(&m, BOOTLOADER_MAGIC, 0x9000).unwrap();
        assert_eq!(
            info.ranges(),
            &[
                MemRange { start: 0, end: 0x9fc00, available: true },
                MemRange { start: 0x100000, end: 0x2000_0000, available: true }
            ]
        );
        assert_eq!(info.ram_end(), 0x2000_0000);
        assert_eq!(info.modules().len(), 2);
        assert_eq!(info.modules()[0].name(), "pager.elf");
        assert_eq!(info.modules()[0].start, 0x200000);
        assert_eq!(info.modules()[1].name(), "initrd.cpio");
        assert_eq!(info.modules()[1].end, 0x231234);
        assert_eq!(info.cmdline(), "test=ipc quiet");
    }

    #[test]
    fn rejects_bad_magic() {
        let m = sample();
        assert_eq!(BootInfo::parse(&m, 0x1234, 0x9000).unwrap_err(), BootInfoError::BadMagic(0x1234));
    }
}
