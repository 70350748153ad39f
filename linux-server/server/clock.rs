//! Time for Linux processes: the TSC, calibrated by the kernel (frequency and
//! boot value in the KIP), gives nanoseconds since boot; the CMOS clock read at
//! boot gives the wall-clock offset. Reading the TSC needs no kernel entry.

pub struct Clock {
    boot_tsc: u64,
    tsc_hz: u64,
    /// Nanoseconds per TSC tick as a 24.40 fixed-point number: `now_ns`
    /// multiplies and shifts instead of dividing (a 128-bit division is a
    /// library call of ~100 instructions, and the server reads the clock
    /// several times per message).
    ns_per_tick: u64,
    boot_epoch_ns: u64,
    /// Offset set by settimeofday/clock_settime (ns, may be negative).
    realtime_adjust: i64,
}

/// Fraction bits of `Clock::ns_per_tick` (a relative error below 10^-11).
const FRAC_BITS: u32 = 40;

impl Clock {
    pub fn from_kip() -> Clock {
        let k = rt::kip::kip();
        let tsc_hz = k.tsc_hz.max(1);
        Clock {
            boot_tsc: k.boot_tsc,
            tsc_hz,
            ns_per_tick: ((1_000_000_000u128 << FRAC_BITS) / tsc_hz as u128) as u64,
            boot_epoch_ns: k.boot_epoch_secs * 1_000_000_000,
            realtime_adjust: 0,
        }
    }

    /// Nanoseconds since boot (CLOCK_MONOTONIC, CLOCK_BOOTTIME).
    pub fn now_ns(&self) -> u64 {
        let ticks = rt::port::rdtsc().saturating_sub(self.boot_tsc);
        ((ticks as u128 * self.ns_per_tick as u128) >> FRAC_BITS) as u64
    }

    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
    pub fn realtime_ns(&self) -> u64 {
        (self.boot_epoch_ns + self.now_ns()).saturating_add_signed(self.realtime_adjust)
    }

    pub fn set_realtime_ns(&mut self, ns: u64) {
        let current = (self.boot_epoch_ns + self.now_ns()) as i64;
        self.realtime_adjust = ns as i64 - current;
    }

    /// Clock resolution: one TSC tick, rounded up to a nanosecond.
    pub fn resolution_ns(&self) -> u64 {
        1_000_000_000u64.div_ceil(self.tsc_hz).max(1)
    }
}
