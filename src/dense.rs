//! The dense products `gs += gA W^T` of the backward pass, compiled three times and picked at run
//! time (AVX-512 or AVX2 + FMA where the CPU has them, with bit-identical results; the portable
//! baseline elsewhere; [`set_simd`] and [`set_avx512`] also switch the element-wise code of
//! `forward.rs` and `backward.rs`, which use the same dispatch).
//!
//! Why not `ndarray`'s `general_mat_mul`: its backend (matrixmultiply) packs both operands into
//! panels on every call. In the backward pass one operand is a small chunk of trials
//! (`16 x n_targets`) and the other is the same weight matrix at every one of hundreds of time
//! steps, so packing cost as much as the multiplication itself (measured with `perf` on workload
//! W-M). Here `W^T` is packed into column panels once per backward pass ([`pack_transposed`]) and
//! the kernel reads them in place: a `6 x 16` block of the result stays in registers while the
//! inner loop walks the shared dimension, broadcasting one element of `gA` per row. For the
//! compact-support surrogate, [`gemm_acc_cols`] computes only listed entries, as dot products.
//!
//! Determinism: each output element is a sum over the shared dimension in increasing order,
//! started from zero and then added to the destination, whatever the block it falls in; the result
//! therefore depends on the machine (FMA or not) but never on the number of threads.

use crate::real::Real;
use std::sync::atomic::{AtomicBool, Ordering};

/// Defines `fn $name<T: Real>(args)` three times over: its body `avx2` runs inside a copy compiled
/// for AVX-512 + AVX2 + FMA or one for AVX2 + FMA, the widest the CPU has that [`set_simd`] and
/// [`set_avx512`] allow, `portable` otherwise (with one body, the same code compiled all three
/// ways). The `_body` functions it calls must be `#[inline(always)]`
/// so that they are compiled into each copy. The only `unsafe` of the run-time dispatch is here.
macro_rules! multiversion {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident<T: Real>($($arg:ident: $ty:ty),* $(,)?) { $body:expr }
    ) => {
        $crate::dense::multiversion! {
            $(#[$attr])*
            $vis fn $name<T: Real>($($arg: $ty),*) { avx2: $body, portable: $body }
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident<T: Real>($($arg:ident: $ty:ty),* $(,)?) { avx2: $fast:expr, portable: $portable:expr $(,)? }
    ) => {
        $(#[$attr])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<T: Real>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512<T: Real>($($arg: $ty),*) {
                    $fast
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2<T: Real>($($arg: $ty),*) {
                    $fast
                }
                if $crate::dense::has_avx512() {
                    // SAFETY: the CPU supports the features `avx512` is compiled for (checked here).
                    unsafe { avx512($($arg),*) };
                    return;
                }
                if $crate::dense::has_avx2_fma() {
                    // SAFETY: the CPU supports the features `avx2` is compiled for (checked here).
                    unsafe { avx2($($arg),*) };
                    return;
                }
            }
            $portable
        }
    };
}
pub(crate) use multiversion;

/// Rows of the result held in registers at once.
const MR: usize = 6;
/// Columns of the result held in registers at once (two AVX registers of `f32`).
const NR: usize = 16;

/// `c[i, j] += sum_p a[i, p] * b[p, j]` for `i < m`, `j < n`, `p < k`, with row-major `a`
/// (row stride `lda`), `b` packed by [`pack_transposed`] and row-major `c` (row stride `ldc`).
#[allow(clippy::too_many_arguments)]
pub fn gemm_acc<T: Real>(m: usize, k: usize, n: usize, a: &[T], lda: usize, b: &[T], c: &mut [T], ldc: usize) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(
        a.len() >= (m - 1) * lda + k && b.len() >= n.div_ceil(NR) * NR * k && c.len() >= (m - 1) * ldc + n,
        "gemm_acc: sizes"
    );
    gemm(m, k, n, a, lda, b, c, ldc);
}

multiversion! {
    /// [`gemm_acc`] after its checks, with fused multiply-adds on the AVX2 path.
    fn gemm<T: Real>(m: usize, k: usize, n: usize, a: &[T], lda: usize, b: &[T], c: &mut [T], ldc: usize) {
        avx2: gemm_body::<T, true>(m, k, n, a, lda, b, c, ldc),
        portable: gemm_body::<T, false>(m, k, n, a, lda, b, c, ldc),
    }
}

/// Packs `B = W^T` for [`gemm_acc`], where `w` is row-major `rows x cols` (so `B` is `cols x rows`):
/// stripes of `NR` columns of `B` (rows of `w`), each stored as `cols` contiguous groups of `NR`
/// values, the last stripe padded with zeros. The kernel then reads `B` strictly sequentially
/// (reading a column stripe of a row-major matrix in place strides by whole rows and thrashes the
/// L1 cache's sets).
pub fn pack_transposed<T: Real>(w: &[T], rows: usize, cols: usize, out: &mut Vec<T>) {
    let stripes = rows.div_ceil(NR);
    out.clear();
    out.resize(stripes * cols * NR, T::zero());
    for (st, panel) in out.chunks_exact_mut(cols * NR).enumerate() {
        for q in 0..NR.min(rows - st * NR) {
            let wrow = &w[(st * NR + q) * cols..(st * NR + q + 1) * cols];
            for (p, &v) in wrow.iter().enumerate() {
                panel[p * NR + q] = v;
            }
        }
    }
}

multiversion! {
    /// The sparse counterpart of [`gemm_acc`] for the compact-support ("triangle") surrogate:
    /// `c[i, j] += sum_p a[i, p] * w[j, p]` only for the columns `j` in
    /// `cols[offsets[i]..offsets[i + 1]]`, with `w` row-major `n x k` (the source-major weights,
    /// unpacked). Each element is a dot product of two contiguous rows, so the cost is proportional
    /// to the number of listed columns.
    pub fn gemm_acc_cols<T: Real>(
        m: usize,
        k: usize,
        a: &[T],
        lda: usize,
        w: &[T],
        c: &mut [T],
        ldc: usize,
        cols: &[u32],
        offsets: &[usize],
    ) {
        avx2: cols_body::<T, true>(m, k, a, lda, w, c, ldc, cols, offsets),
        portable: cols_body::<T, false>(m, k, a, lda, w, c, ldc, cols, offsets),
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn cols_body<T: Real, const FMA: bool>(
    m: usize,
    k: usize,
    a: &[T],
    lda: usize,
    w: &[T],
    c: &mut [T],
    ldc: usize,
    cols: &[u32],
    offsets: &[usize],
) {
    for i in 0..m {
        let row = &a[i * lda..i * lda + k];
        for &j in &cols[offsets[i]..offsets[i + 1]] {
            let j = j as usize;
            c[i * ldc + j] += dot::<T, FMA>(row, &w[j * k..(j + 1) * k]);
        }
    }
}

/// `sum_p x[p] y[p]` with 32 independent partial sums (four groups of 8, one AVX register of
/// `f32` each), added in a fixed order.
#[inline(always)]
fn dot<T: Real, const FMA: bool>(x: &[T], y: &[T]) -> T {
    #[cfg(target_arch = "x86_64")]
    {
        if FMA && std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
            // SAFETY: T is f32 (same layout); FMA is only true inside functions compiled for
            // AVX2 + FMA, which run only where the CPU has them. The compiler does not vectorise
            // the generic code below well (it picks 4-wide registers), hence the intrinsics.
            unsafe {
                let xf = std::slice::from_raw_parts(x.as_ptr() as *const f32, x.len());
                let yf = std::slice::from_raw_parts(y.as_ptr() as *const f32, y.len());
                let r = dot_f32_avx2(xf, yf);
                return *(&r as *const f32 as *const T);
            }
        }
    }
    const L: usize = 8;
    let mut acc = [[T::zero(); L]; 4];
    let (xc, yc) = (x.chunks_exact(4 * L), y.chunks_exact(4 * L));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (xs, ys) in xc.zip(yc) {
        for g in 0..4 {
            let xs: &[T; L] = xs[g * L..(g + 1) * L].try_into().expect("L");
            let ys: &[T; L] = ys[g * L..(g + 1) * L].try_into().expect("L");
            let a = &mut acc[g];
            for q in 0..L {
                a[q] = madd::<T, FMA>(a[q], xs[q], ys[q]);
            }
        }
    }
    let mut sum = [T::zero(); L];
    for q in 0..L {
        sum[q] = (acc[0][q] + acc[1][q]) + (acc[2][q] + acc[3][q]);
    }
    let mut total = ((sum[0] + sum[4]) + (sum[1] + sum[5])) + ((sum[2] + sum[6]) + (sum[3] + sum[7]));
    for (&u, &v) in xr.iter().zip(yr) {
        total = madd::<T, FMA>(total, u, v);
    }
    total
}

/// [`dot`] for `f32` with AVX2 + FMA intrinsics, in the same order of operations as the generic
/// version with `FMA = true` (so both give bit-identical results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_f32_avx2(x: &[f32], y: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = x.len().min(y.len());
    let (px, py) = (x.as_ptr(), y.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (g, a) in acc.iter_mut().enumerate() {
            *a = _mm256_fmadd_ps(_mm256_loadu_ps(px.add(i + 8 * g)), _mm256_loadu_ps(py.add(i + 8 * g)), *a);
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut l = [0f32; 8];
    _mm256_storeu_ps(l.as_mut_ptr(), sum);
    let mut total = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
    while i < n {
        total = x[i].mul_add(y[i], total);
        i += 1;
    }
    total
}

/// Whether the AVX2 + FMA versions can run on this CPU (the answer is cached by `std`) and are
/// allowed (see [`set_simd`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_avx2_fma() -> bool {
    SIMD.load(Ordering::Relaxed)
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
}

/// Whether the AVX-512 copies can run and are allowed (see [`set_simd`] and [`set_avx512`]). They
/// run the same code as the AVX2 copies (the same operations on each element, in the same order,
/// fused the same way), with registers twice as wide: the results are bit-identical.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_avx512() -> bool {
    AVX512.load(Ordering::Relaxed) && has_avx2_fma() && std::arch::is_x86_feature_detected!("avx512f")
}

static SIMD: AtomicBool = AtomicBool::new(true);
static AVX512: AtomicBool = AtomicBool::new(true);

/// Allows (the default) or forbids the AVX-512 copies, process-wide, leaving the AVX2 ones: for the
/// test that the two give bit-identical results; never needed otherwise.
pub fn set_avx512(enabled: bool) {
    AVX512.store(enabled, Ordering::Relaxed);
}

/// Allows (the default) or forbids the AVX2 + FMA code paths, process-wide. For tests that compare
/// the two paths and for ruling the SIMD code out when debugging; never needed otherwise.
pub fn set_simd(enabled: bool) {
    SIMD.store(enabled, Ordering::Relaxed);
}

/// `acc + x * y`, fused when `FMA` (only used where the CPU has FMA: otherwise `mul_add` would be a
/// slow library call).
#[inline(always)]
fn madd<T: Real, const FMA: bool>(acc: T, x: T, y: T) -> T {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// Adds the first `width` columns of the register block `acc` to the rows `i0..` of `c`.
#[inline(always)]
fn store<T: Real, const R: usize>(acc: &[[T; NR]; R], c: &mut [T], i0: usize, ldc: usize, j0: usize, width: usize) {
    for (r, acc_r) in acc.iter().enumerate() {
        let crow = &mut c[(i0 + r) * ldc + j0..(i0 + r) * ldc + j0 + width];
        crow.iter_mut().zip(acc_r).for_each(|(d, &v)| *d += v);
    }
}

/// A block of `R` rows of `a` against one packed stripe: `R x NR` accumulators, `k` steps.
#[inline(always)]
fn block<T: Real, const R: usize, const FMA: bool>(rows: [&[T]; R], panel: &[T], k: usize) -> [[T; NR]; R] {
    let mut acc = [[T::zero(); NR]; R];
    let rows: [&[T]; R] = rows.map(|r| &r[..k]);
    for (p, bp) in panel[..k * NR].chunks_exact(NR).enumerate() {
        let bp: &[T; NR] = bp.try_into().expect("NR elements");
        for r in 0..R {
            let x = rows[r][p];
            for q in 0..NR {
                acc[r][q] = madd::<T, FMA>(acc[r][q], x, bp[q]);
            }
        }
    }
    acc
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_body<T: Real, const FMA: bool>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    c: &mut [T],
    ldc: usize,
) {
    for (st, panel) in b.chunks_exact(k * NR).take(n.div_ceil(NR)).enumerate() {
        let (j0, width) = (st * NR, NR.min(n - st * NR));
        let mut i0 = 0;
        while i0 + MR <= m {
            let rows: [&[T]; MR] = std::array::from_fn(|r| &a[(i0 + r) * lda..(i0 + r) * lda + k]);
            let acc = block::<T, MR, FMA>(rows, panel, k);
            store(&acc, c, i0, ldc, j0, width);
            i0 += MR;
        }
        while i0 + 4 <= m {
            let rows: [&[T]; 4] = std::array::from_fn(|r| &a[(i0 + r) * lda..(i0 + r) * lda + k]);
            let acc = block::<T, 4, FMA>(rows, panel, k);
            store(&acc, c, i0, ldc, j0, width);
            i0 += 4;
        }
        for i in i0..m {
            let acc = block::<T, 1, FMA>([&a[i * lda..i * lda + k]], panel, k);
            store(&acc, c, i, ldc, j0, width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column-sparse product equals the dense one on the listed columns and leaves the others.
    #[test]
    fn sparse_columns_match_dense_product() {
        let (m, k, n) = (5, 70, 40);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 17.0).collect();
        let w: Vec<f64> = (0..n * k).map(|i| ((i * 53 % 89) as f64 - 44.0) / 13.0).collect();
        let mut packed = Vec::new();
        pack_transposed(&w, n, k, &mut packed);
        let mut dense = vec![1.0; m * n];
        gemm_acc(m, k, n, &a, k, &packed, &mut dense, n);
        let (mut cols, mut offsets) = (Vec::new(), vec![0]);
        for i in 0..m {
            cols.extend((0..n as u32).filter(|j| (j + i as u32).is_multiple_of(3)));
            offsets.push(cols.len());
        }
        let mut sparse = vec![1.0; m * n];
        gemm_acc_cols(m, k, &a, k, &w, &mut sparse, n, &cols, &offsets);
        for i in 0..m {
            for j in 0..n {
                if (j + i) % 3 == 0 {
                    assert!((sparse[i * n + j] - dense[i * n + j]).abs() < 1e-9 * (1.0 + dense[i * n + j].abs()));
                } else {
                    assert_eq!(sparse[i * n + j], 1.0);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn naive(m: usize, k: usize, n: usize, a: &[f64], lda: usize, b: &[f64], c: &mut [f64], ldc: usize) {
        for i in 0..m {
            for j in 0..n {
                c[i * ldc + j] += (0..k).map(|p| a[i * lda + p] * b[p * n + j]).sum::<f64>();
            }
        }
    }

    /// Every block shape (full blocks, row tail, column tail) against the textbook triple loop,
    /// with row strides larger than the row length.
    #[test]
    fn matches_naive_product() {
        for &(m, k, n) in &[(16, 256, 256), (5, 3, 17), (1, 1, 1), (7, 9, 35), (4, 16, 16), (3, 8, 15)] {
            let (lda, ldc) = (k + 3, n + 2);
            let a: Vec<f64> = (0..m * lda).map(|i| ((i * 37 % 101) as f64 - 50.0) / 17.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 13.0).collect();
            let c0: Vec<f64> = (0..m * ldc).map(|i| (i % 7) as f64).collect();
            let (mut got, mut want) = (c0.clone(), c0.clone());
            // b is W^T for the row-major n x k matrix w.
            let w: Vec<f64> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let mut packed = Vec::new();
            pack_transposed(&w, n, k, &mut packed);
            gemm_acc(m, k, n, &a, lda, &packed, &mut got, ldc);
            naive(m, k, n, &a, lda, &b, &mut want, ldc);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{m}x{k}x{n}: {g} vs {w}");
            }
            // Padding between rows is never written.
            for i in 0..m {
                assert_eq!(&got[i * ldc + n..(i + 1) * ldc], &c0[i * ldc + n..(i + 1) * ldc]);
            }
        }
    }
}
