//! IPC timeouts. Each phase of an IPC has its own: zero (fail at once if the
//! partner is not ready), never (wait forever), or a relative time in
//! microseconds. Both travel in one register: send in the high half, receive
//! in the low half.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Timeout {
    Zero,
    Never,
    /// Relative, in microseconds (1 ..= 0xFFFF_FFFE).
    Micros(u32),
}

impl Timeout {
    pub const fn encode(self) -> u32 {
        match self {
            Timeout::Zero => 0,
            Timeout::Never => u32::MAX,
            Timeout::Micros(0) => 0,
            Timeout::Micros(u32::MAX) => u32::MAX - 1,
            Timeout::Micros(us) => us,
        }
    }
    pub const fn decode(raw: u32) -> Timeout {
        match raw {
            0 => Timeout::Zero,
            u32::MAX => Timeout::Never,
            us => Timeout::Micros(us),
        }
    }
}

/// The pair of timeouts of one IPC, as passed in `rdx`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Timeouts {
    pub send: Timeout,
    pub recv: Timeout,
}

impl Timeouts {
    pub const NEVER: Timeouts = Timeouts { send: Timeout::Never, recv: Timeout::Never };
    pub const fn new(send: Timeout, recv: Timeout) -> Timeouts {
        Timeouts { send, recv }
    }
    pub const fn encode(self) -> u64 {
        ((self.send.encode() as u64) << 32) | self.recv.encode() as u64
    }
    pub const fn decode(raw: u64) -> Timeouts {
        Timeouts { send: Timeout::decode((raw >> 32) as u32), recv: Timeout::decode(raw as u32) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip() {
        for t in [Timeout::Zero, Timeout::Never, Timeout::Micros(1), Timeout::Micros(123456)] {
            assert_eq!(Timeout::decode(t.encode()), t);
        }
        let ts = Timeouts::new(Timeout::Micros(5), Timeout::Never);
        assert_eq!(Timeouts::decode(ts.encode()), ts);
    }
}
