//! Console output for native tasks, through the kernel's debug channel
//! (`KDEBUG_PRINT`). Lines are buffered so each arrives whole.

use core::fmt::Write;

pub struct LineBuf {
    buf: [u8; 256],
    len: usize,
}

impl LineBuf {
    pub const fn new() -> LineBuf {
        LineBuf { buf: [0; 256], len: 0 }
    }
    pub fn flush(&mut self) {
        if self.len > 0 {
            // The buffer holds whole UTF-8 sequences except possibly at a cut.
            let s = core::str::from_utf8(&self.buf[..self.len]).unwrap_or("<non-UTF-8 output>");
            abi::syscall::kdebug_print(s);
            self.len = 0;
        }
    }
}

impl Default for LineBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

pub fn print(args: core::fmt::Arguments) {
    let mut l = LineBuf::new();
    let _ = l.write_fmt(args);
    l.flush();
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
