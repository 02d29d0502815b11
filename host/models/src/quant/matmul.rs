//! Matrix products of encoded weights with f32 activations, split over rayon's threads.

use std::cell::RefCell;

use rayon::prelude::*;

use super::QuantTensor;
use super::dequantize;
use super::dot::{
    MULTI, block_sums, dot_f32, dot_row, dot_row_multi, needs_block_sums, row_kernel,
};
use crate::gemm::{PackedRef, gemm, pack_rows_from, packed_len};

/// From this many activation rows on, decoding a weight row once beats fused block kernels.
const DECODE_ONCE_FROM: usize = 4;

/// Activation rows processed per pass over a task's weight rows (16 x 1536 f32 = 96 KiB).
const TOKEN_TILE: usize = 16;

/// From this many activation rows on (prefill), weights are decoded to f32 a panel at a time
/// and multiplied by the packed GEMM: decoding once per panel is then cheap next to the
/// `rows x panel` products, and the GEMM runs near the FMA units' peak where the per-row dot
/// kernels are bound by re-expanding the blocks for every few tokens. Measured on SmolLM2
/// (2 threads): the dot kernels win up to 24 rows, the GEMM from 32 (378 vs 274 tok/s).
const GEMM_FROM: usize = 32;

/// Weight rows per decoded panel: at most 1536 x 128 f32 = 768 KiB, within L2.
const PANEL: usize = 128;

/// Activation rows `t0..t1` of `x` (rows of `k`), with their block sums.
struct Tile<'a> {
    x: &'a [f32],
    k: usize,
    sums: &'a [Vec<f32>],
    t0: usize,
    t1: usize,
}

impl Tile<'_> {
    fn xrow(&self, t: usize) -> &[f32] {
        &self.x[t * self.k..(t + 1) * self.k]
    }

    /// `res[j] = row · x[t0 + j]`.
    fn run(&self, w: &QuantTensor, row: &[u8], res: &mut [f32], decoded: &mut Vec<f32>) {
        let n = self.t1 - self.t0;
        if n < DECODE_ONCE_FROM {
            for (j, r) in res.iter_mut().enumerate() {
                let t = self.t0 + j;
                *r = dot_row(w.ty(), row, self.xrow(t), &self.sums[t]);
            }
            return;
        }
        let mut j = 0;
        // Four tokens per pass over the row where a fused kernel exists.
        while j + MULTI <= n {
            let t = self.t0 + j;
            let xs = [0, 1, 2, 3].map(|i| self.xrow(t + i));
            let ss = [0, 1, 2, 3].map(|i| self.sums[t + i].as_slice());
            match dot_row_multi(w.ty(), row, xs, ss) {
                Some(r) => res[j..j + MULTI].copy_from_slice(&r),
                None => break,
            }
            j += MULTI;
        }
        if j > 0 {
            for (jj, r) in res.iter_mut().enumerate().skip(j) {
                let t = self.t0 + jj;
                *r = dot_row(w.ty(), row, self.xrow(t), &self.sums[t]);
            }
        } else {
            // Other encodings: decode the row once, reuse it from L1.
            decoded.resize(self.k, 0.0);
            dequantize(w.ty(), row, decoded);
            for (jj, r) in res.iter_mut().enumerate() {
                *r = dot_f32(decoded, self.xrow(self.t0 + jj));
            }
        }
    }
}

/// `matmul_many` into caller-owned outputs (`outs[i]` is `n` rows of `ws[i].n_rows()`), so a
/// forward pass can reuse its buffers across layers instead of paging in fresh ones.
pub fn matmul_many_into(ws: &[&QuantTensor], x: &[f32], n: usize, outs: &mut [&mut [f32]]) {
    assert_eq!(ws.len(), outs.len(), "one output per weight");
    for (w, out) in ws.iter().zip(outs.iter()) {
        assert_eq!(
            out.len(),
            n * w.n_rows(),
            "output is not {n} rows of {}",
            w.n_rows()
        );
    }
    if n >= GEMM_FROM {
        let k = ws[0].row_len();
        assert!(
            ws.iter().all(|w| w.row_len() == k),
            "weights disagree on input length"
        );
        assert_eq!(x.len(), n * k, "input is not {n} rows of {k}");
        matmul_panels(ws, x, n, outs);
        return;
    }
    // Decode-sized: the row kernels' own buffers are small.
    for (out, y) in outs.iter_mut().zip(matmul_many(ws, x, n)) {
        out.copy_from_slice(&y);
    }
}

/// `x` holds `n` activation rows of `w.row_len()` elements; returns `n` rows of `w.n_rows()`.
pub fn matmul(w: &QuantTensor, x: &[f32], n: usize) -> Vec<f32> {
    matmul_many(&[w], x, n)
        .pop()
        .expect("one output per weight")
}

/// Several weights applied to the same input in one parallel pass (Q/K/V, gate/up): fewer
/// fork/join points per token matter at decode, where each product takes microseconds.
pub fn matmul_many(ws: &[&QuantTensor], x: &[f32], n: usize) -> Vec<Vec<f32>> {
    let k = ws[0].row_len();
    assert!(
        ws.iter().all(|w| w.row_len() == k),
        "weights disagree on input length"
    );
    assert_eq!(x.len(), n * k, "input is not {n} rows of {k}");
    if n >= GEMM_FROM {
        let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![0.0; n * w.n_rows()]).collect();
        let mut views: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        matmul_panels(ws, x, n, &mut views);
        return outs;
    }
    let needs_sums = ws.iter().any(|w| needs_block_sums(w.ty()));
    const { assert!(DECODE_ONCE_FROM >= MULTI) };
    let sums: Vec<Vec<f32>> = if needs_sums {
        x.chunks_exact(k).map(block_sums).collect()
    } else {
        vec![Vec::new(); n]
    };
    let starts: Vec<usize> = ws
        .iter()
        .scan(0, |acc, w| {
            let s = *acc;
            *acc += w.n_rows();
            Some(s)
        })
        .collect();
    let total_rows: usize = ws.iter().map(|w| w.n_rows()).sum();
    // Row-major over weight rows, `n` results per row, so each task writes one contiguous slice.
    let mut out = vec![0.0f32; total_rows * n];
    let threads = rayon::current_num_threads().max(1);
    let rows_per_task = total_rows.div_ceil(threads * 4).max(8);
    out.par_chunks_mut(rows_per_task * n)
        .enumerate()
        .for_each(|(task, chunk)| {
            let first = task * rows_per_task;
            let last = first + chunk.len() / n;
            let mut decoded = Vec::new();
            // The weights (segments of the concatenated row space) this task's rows fall in.
            for (w, &start) in ws.iter().zip(&starts) {
                let lo = start.max(first);
                let hi = (start + w.n_rows()).min(last);
                if lo >= hi {
                    continue;
                }
                let res = &mut chunk[(lo - first) * n..(hi - first) * n];
                if n == 1 {
                    // Decode: ~200k rows per token, so resolve the kernel once per weight.
                    let kernel = row_kernel(w.ty());
                    for (r, y) in (lo - start..hi - start).zip(res.iter_mut()) {
                        *y = kernel(w.row(r), x, &sums[0]);
                    }
                    continue;
                }
                // Long prompts: walk the activations in tiles that stay in L2 while this
                // task's weight rows cycle through, instead of streaming all of `x` per row.
                for t0 in (0..n).step_by(TOKEN_TILE) {
                    let t1 = (t0 + TOKEN_TILE).min(n);
                    let tile = Tile {
                        x,
                        k,
                        sums: &sums,
                        t0,
                        t1,
                    };
                    for (r, y) in (lo - start..hi - start).zip(res.chunks_exact_mut(n)) {
                        tile.run(w, w.row(r), &mut y[t0..t1], &mut decoded);
                    }
                }
            }
        });
    ws.iter()
        .zip(&starts)
        .map(|(w, &s)| {
            let rows = w.n_rows();
            let block = &out[s * n..(s + rows) * n];
            if n == 1 {
                return block.to_vec();
            }
            let mut y = vec![0.0f32; rows * n];
            for r in 0..rows {
                for t in 0..n {
                    y[t * rows + r] = block[r * n + t];
                }
            }
            y
        })
        .collect()
}

/// `matmul_many` for many rows: each task decodes `PANEL` weight rows to f32 once, packs them
/// for the GEMM, multiplies every activation row by them and writes its columns of the
/// token-major outputs.
fn matmul_panels(ws: &[&QuantTensor], x: &[f32], n: usize, outs: &mut [&mut [f32]]) {
    let k = ws[0].row_len();
    let jobs: Vec<(usize, usize, usize)> = ws
        .iter()
        .enumerate()
        .flat_map(|(wi, w)| {
            let rows = w.n_rows();
            (0..rows)
                .step_by(PANEL)
                .map(move |r0| (wi, r0, (r0 + PANEL).min(rows)))
        })
        .collect();
    // Each job's slice of every token row, split off in job order: disjoint, so the jobs can
    // write their columns in parallel.
    let mut pieces: Vec<Vec<&mut [f32]>> = jobs.iter().map(|_| Vec::with_capacity(n)).collect();
    let mut first_job = 0;
    for (w, out) in ws.iter().zip(outs.iter_mut()) {
        let rows = w.n_rows();
        let panels = rows.div_ceil(PANEL);
        for row in out.chunks_exact_mut(rows) {
            let mut rest = row;
            for piece in &mut pieces[first_job..first_job + panels] {
                let (head, tail) = rest.split_at_mut(rest.len().min(PANEL));
                piece.push(head);
                rest = tail;
            }
        }
        first_job += panels;
    }
    thread_local! {
        /// Packed panel and product of the job running on this thread; reused so prefill does
        /// not page in fresh buffers for every panel.
        static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
    }
    jobs.par_iter()
        .zip(pieces.into_par_iter())
        .for_each(|(&(wi, r0, r1), mut dst)| {
            SCRATCH.with_borrow_mut(|[packed, part]| {
                let w = ws[wi];
                let (ty, width) = (w.ty(), r1 - r0);
                packed.resize(packed_len(k, width), 0.0);
                // Whole blocks per step: 64 elements, or one K-quant super-block.
                let chunk = ty.block_size().max(64);
                pack_rows_from(width, k, chunk, packed, |j, p0, dst| {
                    let bytes = &w.row(r0 + j)[ty.bytes_for(p0)..ty.bytes_for(p0 + dst.len())];
                    dequantize(ty, bytes, dst);
                });
                part.resize(n * width, 0.0);
                let panel = PackedRef::new(packed, k, width);
                gemm(x, k, n, panel, part, width, false);
                for (d, src) in dst.iter_mut().zip(part.chunks_exact(width)) {
                    d.copy_from_slice(src);
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::GgmlType;

    #[test]
    fn matches_naive_product() {
        let (k, rows, n) = (64, 19, 3);
        let w: Vec<f32> = (0..k * rows)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.1)
            .collect();
        let bytes = w.iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = QuantTensor::new("w", GgmlType::F32, vec![k, rows], bytes).unwrap();
        let x: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 - 3.0).collect();
        let y = matmul(&t, &x, n);
        for ti in 0..n {
            for r in 0..rows {
                let e: f32 = (0..k).map(|j| w[r * k + j] * x[ti * k + j]).sum();
                assert!((y[ti * rows + r] - e).abs() < 1e-4);
            }
        }
        let both = matmul_many(&[&t, &t], &x, n);
        assert_eq!(both[0], y);
        assert_eq!(both[1], y);
        // Quantized weights: batched rows (fused 4-token kernels plus tail) equal one-by-one.
        for ty in [GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_0] {
            let scale_bytes = if ty == GgmlType::Q4_1 { 4 } else { 2 };
            let bytes: Vec<u8> = (0..ty.bytes_for(k * rows))
                .map(|i| {
                    if i % ty.block_bytes() < scale_bytes {
                        // f16 0x2466 ~ 0.0175 for d (and m).
                        [0x66, 0x24][i % 2]
                    } else {
                        (i * 37 % 256) as u8
                    }
                })
                .collect();
            let q = QuantTensor::new("q", ty, vec![k, rows], bytes).unwrap();
            let many: Vec<f32> = (0..k * 7)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.3)
                .collect();
            let batched = matmul(&q, &many, 7);
            for ti in 0..7 {
                let one = matmul(&q, &many[ti * k..(ti + 1) * k], 1);
                for r in 0..rows {
                    let (a, b) = (batched[ti * rows + r], one[r]);
                    assert!(
                        (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                        "{ty:?} {a} vs {b}"
                    );
                }
            }
        }
        // The decode-once path (many rows) agrees with the per-token kernels.
        let many: Vec<f32> = x.iter().cycle().take(k * 8).copied().collect();
        let y8 = matmul(&t, &many, 8);
        for ti in 0..8 {
            for r in 0..rows {
                assert!((y8[ti * rows + r] - y[(ti % n) * rows + r]).abs() < 1e-4);
            }
        }
    }

    /// Prefill-sized inputs take the decoded-panel GEMM; it agrees with the decode kernels,
    /// across panel boundaries and for several weights at once.
    #[test]
    fn panel_gemm_matches_row_kernels() {
        let (k, n) = (96, GEMM_FROM + 5);
        let x: Vec<f32> = (0..k * n)
            .map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.05)
            .collect();
        for ty in [GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::F32] {
            let make = |rows: usize, salt: usize| {
                let bytes: Vec<u8> = (0..ty.bytes_for(k * rows))
                    .map(|i| match ty {
                        GgmlType::F32 => {
                            [0x00, 0x00, 0x80, 0x3f][i % 4]
                                ^ u8::from((i / 4 + salt).is_multiple_of(3))
                        }
                        _ if i % ty.block_bytes() < 4 => [0x66, 0x24][i % 2],
                        _ => ((i + salt) * 37 % 256) as u8,
                    })
                    .collect();
                QuantTensor::new("w", ty, vec![k, rows], bytes).unwrap()
            };
            let (a, b) = (make(PANEL + 21, 1), make(5, 2));
            let both = matmul_many(&[&a, &b], &x, n);
            for (w, got) in [&a, &b].into_iter().zip(&both) {
                let rows = w.n_rows();
                for t in 0..n {
                    let one = matmul(w, &x[t * k..(t + 1) * k], 1);
                    for r in 0..rows {
                        let (g, e) = (got[t * rows + r], one[r]);
                        assert!(
                            (g - e).abs() <= 1e-4 * e.abs().max(1.0),
                            "{ty:?} {g} vs {e}"
                        );
                    }
                }
            }
        }
    }
}
