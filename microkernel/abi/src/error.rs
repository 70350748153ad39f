//! Kernel error codes, returned in `rax` (0 is success). IPC errors also say
//! in which phase they happened: bit 8 is set for the receive phase.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u64)]
pub enum Error {
    /// The partner was not ready before the timeout expired.
    Timeout = 1,
    /// The thread ID does not name a live thread (never existed, or stale version).
    NotExist = 2,
    /// The IPC was aborted by `exregs` (or the partner was deleted mid-IPC).
    Canceled = 3,
    /// The message does not fit: too many words, bad item, receive buffer too small.
    MsgOverflow = 4,
    /// A string item or buffer named memory the kernel could not access.
    XferFault = 5,
    /// The caller may not do this (privilege, IPC restriction).
    NoPermission = 6,
    /// An argument is malformed.
    InvalidArgument = 7,
    /// Kernel memory (global or the space's quota) is exhausted.
    NoMemory = 8,
    /// Unknown kernel syscall number.
    NoSyscall = 9,
}

/// Set in an IPC error code when the error happened in the receive phase.
pub const RECEIVE_PHASE: u64 = 0x100;

impl Error {
    pub const fn code(self) -> u64 {
        self as u64
    }
    pub fn from_code(code: u64) -> Option<Error> {
        Some(match code & 0xff {
            1 => Error::Timeout,
            2 => Error::NotExist,
            3 => Error::Canceled,
            4 => Error::MsgOverflow,
            5 => Error::XferFault,
            6 => Error::NoPermission,
            7 => Error::InvalidArgument,
            8 => Error::NoMemory,
            9 => Error::NoSyscall,
            _ => return None,
        })
    }
}

/// The outcome of an IPC as returned in `rax`: success, or an error and the phase.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IpcError {
    pub error: Error,
    pub in_receive: bool,
}

impl IpcError {
    pub fn decode(rax: u64) -> Result<(), IpcError> {
        if rax == 0 {
            return Ok(());
        }
        let error = Error::from_code(rax).unwrap_or(Error::InvalidArgument);
        Err(IpcError { error, in_receive: rax & RECEIVE_PHASE != 0 })
    }
    pub const fn encode(self) -> u64 {
        self.error.code() | if self.in_receive { RECEIVE_PHASE } else { 0 }
    }
}
