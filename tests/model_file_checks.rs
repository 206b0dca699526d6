//! Model files are untrusted input: a reader must refuse what the writer cannot have written,
//! naming it, and must not allocate more than the file's own contents justify before finding out.
//! (Files that disagree with their description are written here through the public API: a
//! `Model` whose fields were edited after it was built.)
//!
//! This test binary counts the largest single allocation, so it holds only these tests.

use motorsrnn::model::Model;
use motorsrnn::modelfile::{from_bytes, to_bytes};
use motorsrnn::topology::{NetworkSpec, PopulationSpec, TimeConstant};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, recording the size of the largest block asked for.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fn sparse_model() -> Model<f32> {
    let mut spec = NetworkSpec::srnn(4, 8, 3);
    spec.projections[1].density = Some(0.5); // w_rec
    Model::<f32>::new(spec, 3).unwrap()
}

/// A file of about a kilobyte (with a valid checksum: it is no defence against a crafted file)
/// declaring a population of 2^26 neurons that it stores no parameters for: the reader compiled
/// the description, allocating the population's decay factors (half a gigabyte per vector),
/// before finding that the parameters do not fit.
#[test]
fn a_description_larger_than_the_stored_parameters_is_refused_before_allocating() {
    let mut m = sparse_model();
    let big = PopulationSpec {
        name: "big".into(),
        size: 1 << 26,
        tau_mem: TimeConstant::Shared(20.0),
        ..m.spec.populations[0].clone()
    };
    m.spec.populations.push(big);
    let bytes = to_bytes(&m, None, "{}").unwrap();
    assert!(bytes.len() < 4096, "{} bytes", bytes.len());
    LARGEST.store(0, Ordering::Relaxed);
    let e = from_bytes::<f32>(&bytes).map(|_| ()).unwrap_err().to_string();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        e.contains("corrupt model file (format version 2): parameters do not match the network description"),
        "{e}"
    );
    assert!(largest < 1 << 20, "reading a {}-byte file allocated a block of {largest} bytes", bytes.len());
}
