//! The `log` crate's backend: one line per record on the serial console,
//! prefixed with the time since boot. `log=debug` on the kernel command line
//! shows thread and space lifetimes.

use crate::arch::serial::Console;
use core::fmt::Write;

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let us = crate::uptime_us();
        let level = match r.level() {
            log::Level::Error => "ERROR ",
            log::Level::Warn => "WARN ",
            _ => "",
        };
        let _ = writeln!(Console, "[{:5}.{:06}] kernel: {}{}", us / 1_000_000, us % 1_000_000, level, r.args());
    }
    fn flush(&self) {}
}

pub fn init(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
