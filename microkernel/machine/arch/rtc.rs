//! The CMOS real-time clock, read once at boot for the wall-clock time in the
//! KIP (QEMU keeps it in UTC).

use x86::io::{inb, outb};

fn read(reg: u8) -> u8 {
    // SAFETY: CMOS index/data ports; bit 7 of the index keeps NMIs disabled.
    unsafe {
        outb(0x70, 0x80 | reg);
        inb(0x71)
    }
}

fn bcd(v: u8) -> u64 {
    ((v >> 4) * 10 + (v & 0xf)) as u64
}

/// Seconds since the Unix epoch.
pub fn epoch_seconds() -> u64 {
    while read(0x0a) & 0x80 != 0 {} // update in progress
    let b = read(0x0b);
    let conv = |v: u8| if b & 0x04 != 0 { v as u64 } else { bcd(v) };
    let sec = conv(read(0x00));
    let min = conv(read(0x02));
    let hour_raw = read(0x04);
    let mut hour = conv(hour_raw & 0x7f);
    if b & 0x02 == 0 && hour_raw & 0x80 != 0 {
        hour = (hour % 12) + 12; // 12-hour clock, PM
    }
    let day = conv(read(0x07));
    let month = conv(read(0x08));
    let year = 2000 + conv(read(0x09));
    days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}
