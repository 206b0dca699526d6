//! The dense arithmetic of the core: the products `gs += gA W^T` of the backward pass and the
//! element-wise loops of the LIF update, compiled twice and picked at run time (AVX2 + FMA where
//! the CPU has them, the portable baseline elsewhere).
//!
//! Why not `ndarray`'s `general_mat_mul`: its backend (matrixmultiply) packs both operands into
//! panels on every call. In the backward pass one operand is a small chunk of trials
//! (`16 x n_targets`) and the other is the same weight matrix at every one of hundreds of time
//! steps, so packing cost as much as the multiplication itself (measured with `perf` on workload
//! W-M). Here the weight matrix is transposed once per backward pass into row-major `W^T` and the
//! kernel reads it in place: a `6 x 16` block of the result stays in registers while the inner loop
//! walks the shared dimension, broadcasting one element of `gA` per row.
//!
//! Determinism: each output element is a sum over the shared dimension in increasing order,
//! started from zero and then added to the destination, whatever the block it falls in; the result
//! therefore depends on the machine (FMA or not) but never on the number of threads.

use crate::real::Real;
use std::sync::atomic::{AtomicBool, Ordering};

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
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the CPU supports the features the function is compiled for (checked above).
            unsafe { gemm_avx2(m, k, n, a, lda, b, c, ldc) };
            return;
        }
    }
    gemm_body::<T, false>(m, k, n, a, lda, b, c, ldc);
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

/// Whether the AVX2 + FMA versions can run on this CPU (the answer is cached by `std`) and are
/// allowed (see [`set_simd`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_avx2_fma() -> bool {
    SIMD.load(Ordering::Relaxed)
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
}

static SIMD: AtomicBool = AtomicBool::new(true);

/// Allows (the default) or forbids the AVX2 + FMA code paths, process-wide. For tests that compare
/// the two paths and for ruling the SIMD code out when debugging; never needed otherwise.
pub fn set_simd(enabled: bool) {
    SIMD.store(enabled, Ordering::Relaxed);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_avx2<T: Real>(m: usize, k: usize, n: usize, a: &[T], lda: usize, b: &[T], c: &mut [T], ldc: usize) {
    gemm_body::<T, true>(m, k, n, a, lda, b, c, ldc);
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
