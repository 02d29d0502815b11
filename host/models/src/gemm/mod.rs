//! Dense f32 matrix products `C (+)= A · B` for the compute-bound paths: BERT's encoder and
//! Llama prefill (weights decoded to f32 one panel at a time).
//!
//! B is packed once into `NR`-column strips (`PackedB`), so the micro-kernel reads it
//! sequentially; A is read in place, row by row (it is the activations, produced fresh each
//! call, so packing it would cost as much as it saves at these sizes). Loops are blocked so a
//! `KC x NR` micro-panel of B stays in L1 while every row of an `MC x KC` block of A (in L2)
//! passes over it.

mod kernel;

use rayon::prelude::*;

pub(crate) use kernel::Isa;

/// Columns of C per micro-tile (two zmm or four ymm registers per row).
pub(crate) const NR: usize = 32;
/// Depth of one pass: a `KC x NR` B micro-panel is 32 KiB, within L1.
const KC: usize = 256;
/// Rows of A per block: `MC x KC` floats (256 KiB) stay in L2 across the strips of B.
const MC: usize = 256;
/// The most rows any kernel's tile has (sizes the edge-tile buffer).
const MAX_MR: usize = 8;

/// `B` (`k x n`) in `NR`-column strips: strip `s` holds, for each `p < k`, the `NR` floats
/// `B[p][s * NR..]`, zero past column `n`.
#[derive(Debug, Clone, Default)]
pub struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

/// A borrowed `PackedB` (also over scratch panels packed in place).
#[derive(Debug, Clone, Copy)]
pub struct PackedRef<'a> {
    k: usize,
    n: usize,
    /// Floats from one strip to the next: `k * NR`, or more in a view of the first rows.
    stride: usize,
    data: &'a [f32],
}

/// Floats a packed `k x n` matrix occupies.
pub(crate) fn packed_len(k: usize, n: usize) -> usize {
    n.div_ceil(NR) * k * NR
}

/// Packs `B = Wᵀ` where `w` holds `n` rows of `k` at stride `ldw` (a PyTorch `Linear` weight,
/// a GGUF matrix's rows, the keys of one attention head) into `out` (`packed_len(k, n)`).
pub(crate) fn pack_rows_into(w: &[f32], ldw: usize, n: usize, k: usize, out: &mut [f32]) {
    assert!(out.len() >= packed_len(k, n));
    if n > 0 {
        assert!(w.len() >= (n - 1) * ldw + k);
    }
    for (s, strip) in out[..packed_len(k, n)].chunks_exact_mut(k * NR).enumerate() {
        let j0 = s * NR;
        let nj = NR.min(n - j0);
        if nj < NR {
            strip.fill(0.0);
        }
        // A transpose: walk `k` in slices whose destination lines (64 x 128 B) stay in L1
        // while all of the strip's rows are written into them.
        for p0 in (0..k).step_by(64) {
            let p1 = (p0 + 64).min(k);
            for j in 0..nj {
                let row = &w[(j0 + j) * ldw + p0..(j0 + j) * ldw + p1];
                for (dst, &v) in strip[p0 * NR + j..].iter_mut().step_by(NR).zip(row) {
                    *dst = v;
                }
            }
        }
    }
}

/// Packs `B = Wᵀ` for `n` rows of `k` produced on demand (quantized weight rows): `row(j, p0,
/// dst)` fills `dst` with row `j`'s elements `p0..p0 + dst.len()`, at most `chunk` (<= 256) at
/// a time. Rows are decoded straight into the packed layout, a strip's `chunk x NR` block at a
/// time in L1, with no f32 copy of the whole panel on the way.
pub(crate) fn pack_rows_from(
    n: usize,
    k: usize,
    chunk: usize,
    out: &mut [f32],
    mut row: impl FnMut(usize, usize, &mut [f32]),
) {
    assert!(out.len() >= packed_len(k, n) && (1..=256).contains(&chunk));
    let mut tmp = [0.0f32; 256];
    for (s, strip) in out[..packed_len(k, n)].chunks_exact_mut(k * NR).enumerate() {
        let j0 = s * NR;
        let nj = NR.min(n - j0);
        if nj < NR {
            strip.fill(0.0);
        }
        for p0 in (0..k).step_by(chunk) {
            let len = chunk.min(k - p0);
            for j in 0..nj {
                row(j0 + j, p0, &mut tmp[..len]);
                for (dst, &v) in strip[p0 * NR + j..].iter_mut().step_by(NR).zip(&tmp[..len]) {
                    *dst = v;
                }
            }
        }
    }
}

/// Packs `B` given row-major (`k` rows of `n` at stride `ldb`; the values of one attention
/// head) into `out` (`packed_len(k, n)`).
pub(crate) fn pack_kn_into(b: &[f32], ldb: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(out.len() >= packed_len(k, n));
    if k > 0 {
        assert!(b.len() >= (k - 1) * ldb + n);
    }
    for (s, strip) in out[..packed_len(k, n)].chunks_exact_mut(k * NR).enumerate() {
        let j0 = s * NR;
        let nj = NR.min(n - j0);
        for (p, dst) in strip.chunks_exact_mut(NR).enumerate() {
            dst[..nj].copy_from_slice(&b[p * ldb + j0..p * ldb + j0 + nj]);
            dst[nj..].fill(0.0);
        }
    }
}

impl PackedB {
    /// `B = Wᵀ` for `w` = `n` rows of `k` (PyTorch `Linear` and GGUF layout).
    pub fn from_rows(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "weight is not {n} rows of {k}");
        let mut data = vec![0.0; packed_len(k, n)];
        pack_rows_into(w, k, n, k, &mut data);
        Self { k, n, data }
    }

    pub fn as_ref(&self) -> PackedRef<'_> {
        PackedRef {
            k: self.k,
            n: self.n,
            stride: self.k * NR,
            data: &self.data,
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n(&self) -> usize {
        self.n
    }
}

impl<'a> PackedRef<'a> {
    /// A `k x n` matrix already packed in `data` (by `pack_rows_into` / `pack_kn_into`).
    pub(crate) fn new(data: &'a [f32], k: usize, n: usize) -> Self {
        assert!(data.len() >= packed_len(k, n));
        Self {
            k,
            n,
            stride: k * NR,
            data,
        }
    }

    /// The product with only the first `k` rows of B (keys up to a causal limit) and the
    /// first `n` columns.
    pub(crate) fn prefix(self, k: usize, n: usize) -> Self {
        assert!(k <= self.k && n <= self.n);
        Self { k, n, ..self }
    }
}

/// What a product does to each tile of C after its last pass, while the tile is in L1:
/// `C = gelu(C + bias)`, either step optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fused<'a> {
    /// One per column of C.
    pub bias: Option<&'a [f32]>,
    pub gelu: bool,
}

impl Fused<'_> {
    fn is_identity(&self) -> bool {
        self.bias.is_none() && !self.gelu
    }

    /// Applies to `rows` rows of columns `j0..j0 + cols` of a tile at stride `ld`.
    fn apply(&self, tile: &mut [f32], ld: usize, rows: usize, j0: usize, cols: usize) {
        let bias = self.bias.map_or(&[][..], |b| &b[j0..j0 + cols]);
        let cols_slice = &mut tile[..(rows - 1) * ld + cols];
        crate::vmath::bias_gelu(cols_slice, ld, rows, bias, self.gelu);
    }
}

/// `C (+)= A · B` on the calling thread: `A` is `m` rows of `b.k` at stride `lda`, `C` is `m`
/// rows of `b.n` at stride `ldc`. Overwrites C unless `accumulate`.
pub fn gemm(
    a: &[f32],
    lda: usize,
    m: usize,
    b: PackedRef<'_>,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    let plain = Fused::default();
    gemm_with(Isa::detect(), a, lda, m, b, c, ldc, accumulate, plain);
}

#[allow(clippy::too_many_arguments)] // BLAS-shaped on purpose: strides are the point.
pub(crate) fn gemm_with(
    isa: Isa,
    a: &[f32],
    lda: usize,
    m: usize,
    b: PackedRef<'_>,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    fused: Fused<'_>,
) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    if let Some(bias) = fused.bias {
        assert_eq!(bias.len(), n, "one bias per column");
    }
    assert!(
        lda >= k && a.len() >= (m - 1) * lda + k,
        "A is not {m} rows of {k}"
    );
    assert!(
        ldc >= n && c.len() >= (m - 1) * ldc + n,
        "C is not {m} rows of {n}"
    );
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                c[row * ldc..row * ldc + n].fill(0.0);
            }
        }
        if !fused.is_identity() {
            fused.apply(c, ldc, m, 0, n);
        }
        return;
    }
    let mr = isa.mr();
    let strips = n.div_ceil(NR);
    let mut edge = [0.0f32; MAX_MR * NR];
    for m0 in (0..m).step_by(MC) {
        let m1 = (m0 + MC).min(m);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let acc = accumulate || pc > 0;
            let finish = pc + kc == k && !fused.is_identity();
            for s in 0..strips {
                let bs = &b.data[s * b.stride + pc * NR..s * b.stride + (pc + kc) * NR];
                let j0 = s * NR;
                let nj = NR.min(n - j0);
                for i0 in (m0..m1).step_by(mr) {
                    let mi = mr.min(m1 - i0);
                    // Rows past the end repeat the last one; their results are dropped.
                    let rows: [&[f32]; MAX_MR] = std::array::from_fn(|i| {
                        let r = i0 + i.min(mi - 1);
                        &a[r * lda + pc..r * lda + pc + kc]
                    });
                    let start = i0 * ldc + j0;
                    if mi == mr && nj == NR && start + (mr - 1) * ldc + NR <= c.len() {
                        isa.tile(kc, &rows[..mr], bs, &mut c[start..], ldc, acc);
                        if finish {
                            fused.apply(&mut c[start..], ldc, mr, j0, NR);
                        }
                        continue;
                    }
                    if acc {
                        for i in 0..mi {
                            edge[i * NR..i * NR + nj]
                                .copy_from_slice(&c[start + i * ldc..start + i * ldc + nj]);
                        }
                    }
                    isa.tile(kc, &rows[..mr], bs, &mut edge, NR, acc);
                    if finish {
                        fused.apply(&mut edge, NR, mi, j0, nj);
                    }
                    for i in 0..mi {
                        c[start + i * ldc..start + i * ldc + nj]
                            .copy_from_slice(&edge[i * NR..i * NR + nj]);
                    }
                }
            }
        }
    }
}

/// `gemm` over rayon's threads, C compact (`ldc == b.n`), with `fused` applied per tile.
/// `epilogue(first_row, rows)` then runs on each finished block of whole C rows (residual
/// norms) while they are still in cache.
#[allow(clippy::too_many_arguments)]
pub fn par_gemm(
    a: &[f32],
    lda: usize,
    m: usize,
    b: PackedRef<'_>,
    c: &mut [f32],
    accumulate: bool,
    fused: Fused<'_>,
    epilogue: impl Fn(usize, &mut [f32]) + Sync,
) {
    let n = b.n;
    assert_eq!(c.len(), m * n, "C is not {m} rows of {n}");
    if m == 0 || n == 0 {
        return;
    }
    let isa = Isa::detect();
    let threads = rayon::current_num_threads().max(1);
    // Whole tiles per task, two tasks per thread so an uneven split still balances. Each task
    // streams all of B once, so more tasks would only add B traffic.
    let unit = 24; // a multiple of every kernel's rows
    let rows_per_task = m.div_ceil(threads * 2).div_ceil(unit) * unit;
    if threads == 1 || m <= rows_per_task {
        if threads > 1 && n >= 2 * NR {
            return par_gemm_columns(isa, a, lda, m, b, c, accumulate, fused, epilogue);
        }
        gemm_with(isa, a, lda, m, b, c, n, accumulate, fused);
        epilogue(0, c);
        return;
    }
    c.par_chunks_mut(rows_per_task * n)
        .enumerate()
        .for_each(|(t, chunk)| {
            let r0 = t * rows_per_task;
            let rows = chunk.len() / n;
            gemm_with(
                isa,
                &a[r0 * lda..],
                lda,
                rows,
                b,
                chunk,
                n,
                accumulate,
                fused,
            );
            epilogue(r0, chunk);
        });
}

/// Few rows (one short text): split the columns instead, each task into its own buffer.
#[allow(clippy::too_many_arguments)]
fn par_gemm_columns(
    isa: Isa,
    a: &[f32],
    lda: usize,
    m: usize,
    b: PackedRef<'_>,
    c: &mut [f32],
    accumulate: bool,
    fused: Fused<'_>,
    epilogue: impl Fn(usize, &mut [f32]) + Sync,
) {
    let n = b.n;
    let strips = n.div_ceil(NR);
    let per_task = strips.div_ceil(rayon::current_num_threads() * 2).max(1);
    let parts: Vec<(usize, usize, Vec<f32>)> = (0..strips)
        .step_by(per_task)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|s0| {
            let j0 = s0 * NR;
            let nj = (per_task * NR).min(n - j0);
            let sub = PackedRef {
                n: nj,
                data: &b.data[s0 * b.stride..],
                ..b
            };
            let mut part = vec![0.0f32; m * nj];
            if accumulate {
                for (dst, src) in part.chunks_exact_mut(nj).zip(c.chunks_exact(n)) {
                    dst.copy_from_slice(&src[j0..j0 + nj]);
                }
            }
            let fused = Fused {
                bias: fused.bias.map(|bias| &bias[j0..j0 + nj]),
                ..fused
            };
            gemm_with(isa, a, lda, m, sub, &mut part, nj, accumulate, fused);
            (j0, nj, part)
        })
        .collect();
    for (j0, nj, part) in parts {
        for (dst, src) in c.chunks_exact_mut(n).zip(part.chunks_exact(nj)) {
            dst[j0..j0 + nj].copy_from_slice(src);
        }
    }
    epilogue(0, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], lda: usize, m: usize, w: &[f32], n: usize, k: usize) -> Vec<f32> {
        let mut c = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| f64::from(a[i * lda + p]) * f64::from(w[j * k + p]))
                    .sum::<f64>() as f32;
            }
        }
        c
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0 - 1.0)
            .collect()
    }

    fn close(got: &[f32], want: &[f32], k: usize) {
        let tol = 1e-5 * (k as f32).max(1.0);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol, "element {i}: {g} vs {w}");
        }
    }

    /// Odd shapes cross every edge: partial row tiles, partial strips, several KC and MC blocks.
    #[test]
    fn every_kernel_matches_naive_on_odd_shapes() {
        for isa in Isa::all_available() {
            for &(m, n, k) in &[
                (1, 1, 1),
                (2, 33, 7),
                (5, 31, 300),
                (9, 64, 513),
                (13, 70, 129),
                (259, 45, 17),
                (24, 96, 256),
            ] {
                let lda = k + 3;
                let a = values(m * lda, 1);
                let w = values(n * k, 2);
                let b = PackedB::from_rows(&w, n, k);
                let want = naive(&a, lda, m, &w, n, k);
                let ldc = n + 5;
                let mut c = vec![f32::NAN; (m - 1) * ldc + n];
                gemm_with(
                    isa,
                    &a,
                    lda,
                    m,
                    b.as_ref(),
                    &mut c,
                    ldc,
                    false,
                    Fused::default(),
                );
                let got: Vec<f32> = (0..m)
                    .flat_map(|i| c[i * ldc..i * ldc + n].to_vec())
                    .collect();
                close(&got, &want, k);
                // Accumulating adds onto what C holds.
                gemm_with(
                    isa,
                    &a,
                    lda,
                    m,
                    b.as_ref(),
                    &mut c,
                    ldc,
                    true,
                    Fused::default(),
                );
                let twice: Vec<f32> = (0..m)
                    .flat_map(|i| c[i * ldc..i * ldc + n].to_vec())
                    .collect();
                let want2: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
                close(&twice, &want2, k);
            }
        }
    }

    #[test]
    fn prefix_view_multiplies_by_the_leading_block() {
        let (m, n, k) = (7, 70, 300);
        let a = values(m * k, 6);
        let w = values(n * k, 7);
        let b = PackedB::from_rows(&w, n, k);
        let (k2, n2) = (261, 33);
        let w2: Vec<f32> = (0..n2)
            .flat_map(|j| w[j * k..j * k + k2].to_vec())
            .collect();
        let want = naive(&a, k, m, &w2, n2, k2);
        let mut c = vec![0.0; m * n2];
        gemm(&a, k, m, b.as_ref().prefix(k2, n2), &mut c, n2, false);
        close(&c, &want, k2);
    }

    #[test]
    fn packing_rows_on_demand_equals_packing_a_matrix() {
        let (k, n) = (96, 45);
        let w = values(n * k, 9);
        let mut packed = vec![1.0; packed_len(k, n)];
        pack_rows_from(n, k, 64, &mut packed, |j, p0, dst| {
            dst.copy_from_slice(&w[j * k + p0..j * k + p0 + dst.len()]);
        });
        assert_eq!(packed, PackedB::from_rows(&w, n, k).data);
    }

    #[test]
    fn row_major_packing_equals_transposed_packing() {
        let (k, n) = (37, 41);
        let w = values(n * k, 3);
        let mut kn = vec![0.0; k * n];
        for j in 0..n {
            for p in 0..k {
                kn[p * n + j] = w[j * k + p];
            }
        }
        let mut packed = vec![1.0; packed_len(k, n)];
        pack_kn_into(&kn, n, k, n, &mut packed);
        assert_eq!(packed, PackedB::from_rows(&w, n, k).data);
    }

    #[test]
    fn parallel_split_by_rows_or_columns_matches() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for &(m, n, k) in &[(4, 100, 50), (200, 65, 90), (1, 64, 3)] {
            let a = values(m * k, 4);
            let w = values(n * k, 5);
            let b = PackedB::from_rows(&w, n, k);
            let want = naive(&a, k, m, &w, n, k);
            let bias = values(n, 8);
            let fused = Fused {
                bias: Some(&bias),
                gelu: true,
            };
            let mut c = vec![0.5; m * n];
            pool.install(|| {
                par_gemm(&a, k, m, b.as_ref(), &mut c, true, fused, |r0, rows| {
                    for (i, row) in rows.chunks_exact_mut(n).enumerate() {
                        row[0] += (r0 + i) as f32;
                    }
                })
            });
            for i in 0..m {
                for j in 0..n {
                    let extra = if j == 0 { i as f32 } else { 0.0 };
                    let e = crate::vmath::gelu(want[i * n + j] + 0.5 + bias[j]) + extra;
                    assert!((c[i * n + j] - e).abs() < 1e-4, "{m}x{n}x{k} at {i},{j}");
                }
            }
        }
    }
}
