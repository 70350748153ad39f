//! The kernel heap: a physically contiguous region reserved at boot and
//! reached through the direct map, managed by `linked_list_allocator`. It
//! holds TCBs, spaces, mapping-database nodes and queues. It does not grow:
//! per-space quotas keep any one space from exhausting it.

use linked_list_allocator::Heap;

/// Heap bytes kept free for allocations the kernel cannot refuse (queues,
/// index nodes of an operation already under way): below this, operations
/// that grow kernel data for a user fail with NoMemory
/// (`Machine::kernel_memory_low`).
pub const RESERVE: usize = 4 << 20;

struct KernelHeap(spin::Mutex<Heap>);

// SAFETY: `Heap` is only reached through the mutex.
unsafe impl core::alloc::GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        // SAFETY: `ptr` came from `alloc` with the same layout (GlobalAlloc contract).
        unsafe { self.0.lock().deallocate(core::ptr::NonNull::new_unchecked(ptr), layout) }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(spin::Mutex::new(Heap::empty()));

/// Hand the heap its memory: `size` bytes at virtual address `start`.
pub fn init(start: u64, size: usize) {
    // SAFETY: the caller reserved this range of the direct map for the heap
    // alone; it is mapped writable and never used otherwise.
    unsafe { HEAP.0.lock().init(start as *mut u8, size) }
}

/// Bytes in use and free.
pub fn usage() -> (usize, usize) {
    let h = HEAP.0.lock();
    (h.used(), h.free())
}
