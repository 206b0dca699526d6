//! Model files are untrusted input: a reader must refuse what the writer cannot have written,
//! naming it, and must not allocate more than the file's own contents justify before finding out.
//! (Files that disagree with their description are written here through the public API: a
//! `Model` whose fields were edited after it was built.)
//!
//! This test binary counts the largest single allocation, so it holds only these tests.

use motorsrnn::model::Model;
use motorsrnn::modelfile::{from_bytes, to_bytes};
use motorsrnn::topology::{NetworkSpec, PopulationSpec, TimeConstant};
use ndarray::Array2;
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

fn error_of(m: &Model<f32>) -> String {
    let bytes = to_bytes(m, None, "{}").unwrap();
    match from_bytes::<f32>(&bytes) {
        Ok(_) => panic!("the file was read"),
        Err(e) => e.to_string(),
    }
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

#[test]
fn masks_must_be_zeros_and_ones() {
    for bad in [f32::NAN, 7.0, 0.5, -1.0] {
        let mut m = sparse_model();
        let mask = m.masks[1].as_mut().unwrap();
        let at = mask.iter().position(|&k| k == 1.0).unwrap();
        mask.as_slice_mut().unwrap()[at] = bad;
        let e = error_of(&m);
        assert!(e.contains(&format!("the mask of projection 'w_rec' holds {bad}: a mask holds only 0 and 1")), "{e}");
    }
}

#[test]
fn a_mask_exactly_for_each_sparse_projection() {
    let mut m = sparse_model();
    m.masks[1] = None;
    let e = error_of(&m);
    assert!(e.contains("projection 'w_rec' is sparse (density 0.5) but no mask is stored for it"), "{e}");
    let mut m = sparse_model();
    m.masks[0] = Some(Array2::ones(m.params.w[0].raw_dim()));
    let e = error_of(&m);
    assert!(e.contains("projection 'w_in' is dense (no density) but a mask is stored for it"), "{e}");
}

#[test]
fn weights_are_zero_where_the_mask_removes_the_connection() {
    let mut m = sparse_model();
    let at = m.masks[1].as_ref().unwrap().iter().position(|&k| k == 0.0).unwrap();
    m.params.w[1].as_slice_mut().unwrap()[at] = 0.25;
    let e = error_of(&m);
    assert!(e.contains("projection 'w_rec' has non-zero weights where its mask removes the connection"), "{e}");
}

/// What the writer writes, the reader reads: a trained sparse network (masked weights stay zero,
/// also as -0.0 after a negative weight was masked) loads with its masks.
#[test]
fn files_the_writer_wrote_load() {
    let m = sparse_model();
    assert!(m.masks[1].as_ref().unwrap().iter().any(|&k| k == 0.0));
    let (back, _, _) = from_bytes::<f32>(&to_bytes(&m, None, "{}").unwrap()).unwrap();
    assert_eq!(back.masks, m.masks);
    assert_eq!(back.params, m.params);
}
