//! The runtime of native tasks (the root pager, the linux-server, kernel test
//! tasks): what a `no_std` program needs to start on the microkernel.
//!
//! - `_start`: the kernel starts a task's first thread at the ELF entry with no
//!   stack; `_start` switches to a stack in the task's own `.bss` (paged in by
//!   its pager like any other memory) and calls the task's `main`.
//! - a heap in `.bss` ([`declare_heap!`]), a panic handler, console output
//!   through the kernel debug channel ([`println!`]),
//! - typed access to the calling thread's UTCB ([`utcb`]) and IPC helpers for
//!   messages longer than the registers ([`ipc`]).
//!
//! The `unsafe` here is the task-side equivalent of the syscall stubs: the
//! entry code, the UTCB page the kernel maps for each thread, and the heap.

#![no_std]

pub mod console;
pub mod ipc;
pub mod kip;
pub mod pager;
pub mod port;
pub mod thread;
pub mod utcb;

pub use abi;
pub use abi::syscall as sys;

#[doc(hidden)]
pub use linked_list_allocator;

/// Stack of a task's first thread.
pub const MAIN_STACK_SIZE: usize = 256 * 1024;

#[repr(C, align(16))]
pub struct Stack<const N: usize>(pub [u8; N]);

#[doc(hidden)]
pub static mut MAIN_STACK: Stack<MAIN_STACK_SIZE> = Stack([0; MAIN_STACK_SIZE]);

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .global _start
_start:
    lea rsp, [rip + {stack} + {size}]
    xor ebp, ebp
    call {main}
    ud2
"#,
    stack = sym MAIN_STACK,
    size = const MAIN_STACK_SIZE,
    main = sym rt_main,
);

extern "Rust" {
    /// The task's entry point, defined with [`entry!`].
    fn task_main();
}

extern "C" fn rt_main() -> ! {
    // SAFETY: `task_main` is provided by the task through `entry!`.
    unsafe { task_main() };
    exit()
}

/// End the calling thread (the task, if it is the last one).
pub fn exit() -> ! {
    let me = utcb::Utcb::current().my_id();
    let _ = sys::thread_delete(me);
    loop {
        sys::yield_to(abi::ThreadId::NIL);
    }
}

/// Name the task's entry function: `rt::entry!(main);`
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        fn task_main() {
            $main()
        }
    };
}

/// Declare the task's heap: `rt::declare_heap!(4 << 20);` (bytes, in `.bss`).
#[macro_export]
macro_rules! declare_heap {
    ($size:expr) => {
        #[global_allocator]
        static ALLOCATOR: $crate::Heap = $crate::Heap::new();
        #[doc(hidden)]
        #[no_mangle]
        static mut RT_HEAP_AREA: $crate::Stack<{ $size }> = $crate::Stack([0; $size]);
        #[doc(hidden)]
        #[no_mangle]
        fn rt_heap_area() -> (*mut u8, usize) {
            (core::ptr::addr_of_mut!(RT_HEAP_AREA) as *mut u8, $size)
        }
    };
}

/// The global allocator behind [`declare_heap!`]: initialised on first use.
///
/// **Backing.** The heap is a `.bss` array that the task's pager backs page
/// by page as the task first touches it. A task whose pager can run out of
/// memory (the second initial server: its pages come from the root pager's
/// pool, shared with everything it hands out) would then fault on a page
/// nobody can give — and wait forever. [`Heap::set_backing`] closes that
/// hole: the allocator keeps the highest address it ever handed out (the
/// linked-list allocator fills from the bottom, so everything below it has
/// been used), asks the check before it moves that mark up, and touches the
/// new pages right away, so every page below the mark is backed. A refused
/// allocation returns null: `try_reserve` callers see an error, others the
/// allocation-failure panic — a clean stop instead of a hang.
pub struct Heap {
    inner: spin::Mutex<HeapState>,
}

struct HeapState {
    ready: bool,
    heap: linked_list_allocator::Heap,
    /// End of the highest allocation so far, rounded up to a page: the
    /// pages below it are backed.
    backed_to: usize,
    backing: Option<BackingCheck>,
}

/// Whether `pages` more heap pages may be backed for an allocation of
/// `size` bytes (see [`Heap::set_backing`]).
pub type BackingCheck = fn(pages: u64, size: usize) -> bool;

impl Heap {
    pub const fn new() -> Heap {
        Heap {
            inner: spin::Mutex::new(HeapState {
                ready: false,
                heap: linked_list_allocator::Heap::empty(),
                backed_to: 0,
                backing: None,
            }),
        }
    }
    /// Bytes used and free.
    pub fn usage(&self) -> (usize, usize) {
        let h = self.inner.lock();
        (h.heap.used(), h.heap.free())
    }

    /// Ask `check` before the heap takes pages it has never used (see the
    /// type's docs). The check runs with the heap locked: it must not
    /// allocate.
    pub fn set_backing(&self, check: BackingCheck) {
        self.inner.lock().backing = Some(check);
    }
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

extern "Rust" {
    fn rt_heap_area() -> (*mut u8, usize);
}

// SAFETY: all access to the inner heap goes through the mutex.
unsafe impl core::alloc::GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        let mut h = self.inner.lock();
        if !h.ready {
            // SAFETY: the area is the task's own static heap array, used for
            // nothing else, handed to the allocator exactly once.
            unsafe {
                let (start, size) = rt_heap_area();
                h.heap.init(start, size);
                h.backed_to = start as usize;
            }
            h.ready = true;
        }
        let Ok(p) = h.heap.allocate_first_fit(layout) else { return core::ptr::null_mut() };
        // The allocator writes a free block's header just past the allocation:
        // that page counts as used too.
        let end = (p.as_ptr() as usize + layout.size() + 64).next_multiple_of(4096);
        if end > h.backed_to {
            if let Some(check) = h.backing {
                if !check(((end - h.backed_to) / 4096) as u64, layout.size()) {
                    // SAFETY: `p` was just allocated with `layout`.
                    unsafe { h.heap.deallocate(p, layout) };
                    return core::ptr::null_mut();
                }
                // Back the new pages now, while the check's answer holds.
                for page in (h.backed_to..end).step_by(4096) {
                    // SAFETY: the page lies inside the heap array (below the
                    // end of an allocation just made in it); reading it only
                    // makes the pager back it.
                    unsafe { core::ptr::read_volatile(page as *const u8) };
                }
            }
            h.backed_to = end;
        }
        p.as_ptr()
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc contract).
        unsafe { self.inner.lock().heap.deallocate(core::ptr::NonNull::new_unchecked(ptr), layout) }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::fmt::Write;
    let mut line = console::LineBuf::new();
    let _ = write!(line, "TASK PANIC: {info}");
    line.flush();
    // An initial server's panic ends the system with a distinct status;
    // anything else ends just this thread.
    let _ = sys::shutdown(0x7d);
    exit()
}
