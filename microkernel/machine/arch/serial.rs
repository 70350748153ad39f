const COM1: u16 = 0x3f8;
pub fn init() {}
pub fn write_str(s: &str) {
    for b in s.bytes() {
        // SAFETY: COM1 data port.
        unsafe { x86::io::outb(COM1, b) };
    }
}
