//! Starting threads on a function. The kernel starts a thread at an IP with
//! an SP and nothing else; the spawner writes the function and its argument on
//! top of the new stack and starts the thread at a trampoline that pops them.
//! The stack must be memory the spawner can write and the new thread sees at
//! the same address (same space, or a page both spaces share).

use abi::syscall as sys;
use abi::{Error, ThreadId};

/// A thread body: runs with its argument and must not return.
pub type Body = extern "C" fn(u64) -> !;

core::arch::global_asm!(
    r#"
    .section .text
    .global rt_thread_start
rt_thread_start:
    pop rdi
    pop rax
    xor ebp, ebp
    call rax
    ud2
"#
);

extern "C" {
    fn rt_thread_start();
}

/// Create a thread (see `abi::syscall::thread_create`) and start it running
/// `body(arg)` on the stack that ends at `stack_top` (16-byte aligned).
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    space: ThreadId,
    pager: ThreadId,
    handler: ThreadId,
    utcb: u64,
    flags: u64,
    stack_top: u64,
    body: Body,
    arg: u64,
) -> Result<ThreadId, Error> {
    assert_eq!(stack_top % 16, 0, "stack must be 16-byte aligned");
    let id = sys::thread_create(space, pager, handler, utcb, flags)?;
    // SAFETY: the caller passes the top of a stack it owns and the new thread
    // will use; the two words below the top are inside it.
    unsafe {
        let sp = (stack_top - 16) as *mut u64;
        sp.write_volatile(arg);
        sp.add(1).write_volatile(body as usize as u64);
    }
    sys::thread_start(id, rt_thread_start as usize as u64, stack_top - 16)?;
    Ok(id)
}
