//! Causal attention for a sequence's long chunk of new rows (prefill), on the packed GEMM.
//!
//! Per-row attention re-reads every key and value once per query row and head; here each
//! kv head's keys and values are packed once, and a block of query rows meets them as two
//! GEMMs (`Q Kᵀ`, then `P V`) that reuse them from cache. A block sees the keys up to its
//! last row's position; the few scores past each row's own position are masked out.

use rayon::prelude::*;

use super::LlamaConfig;
use crate::gemm::{PackedRef, gemm, pack_kn_into, pack_rows_into, packed_len};
use crate::vmath::softmax_scaled;

/// From this many new rows of one sequence on, attention runs blocked.
pub(super) const BLOCKED_FROM: usize = 16;

/// Query rows per block: small enough that causal masking wastes little, enough blocks to
/// balance the threads (later blocks see more keys).
const QB: usize = 32;

/// `out` (`len` rows of `dim`) = attention of the rows `q` (same shape) over one layer's
/// cache `keys`/`values` (`total` positions of `kv_dim`, the new rows last), where the first
/// new row is at position `first`.
pub(super) fn causal_blocked(
    c: &LlamaConfig,
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    first: usize,
    out: &mut [f32],
) {
    let (dim, kv_dim, hd) = (c.dim, c.kv_dim(), c.head_dim);
    let total = keys.len() / kv_dim;
    assert_eq!(q.len(), out.len());
    assert_eq!(
        first + out.len() / dim,
        total,
        "cache does not end with the new rows"
    );
    let group = c.n_heads / c.n_kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let packed: Vec<(Vec<f32>, Vec<f32>)> = (0..c.n_kv_heads)
        .into_par_iter()
        .map(|h| {
            let mut kt = vec![0.0; packed_len(hd, total)];
            pack_rows_into(&keys[h * hd..], kv_dim, total, hd, &mut kt);
            let mut v = vec![0.0; packed_len(total, hd)];
            pack_kn_into(&values[h * hd..], kv_dim, total, hd, &mut v);
            (kt, v)
        })
        .collect();
    out.par_chunks_mut(QB * dim)
        .enumerate()
        .for_each(|(bi, o)| {
            let r0 = bi * QB;
            let rows = o.len() / dim;
            let kend = first + r0 + rows;
            let mut scores = vec![0.0f32; rows * kend];
            for head in 0..c.n_heads {
                let (kt, v) = &packed[head / group];
                let kt = PackedRef::new(kt, hd, total).prefix(hd, kend);
                gemm(
                    &q[r0 * dim + head * hd..],
                    dim,
                    rows,
                    kt,
                    &mut scores,
                    kend,
                    false,
                );
                for (i, row) in scores.chunks_exact_mut(kend).enumerate() {
                    let visible = first + r0 + i + 1;
                    softmax_scaled(&mut row[..visible], scale);
                    row[visible..].fill(0.0);
                }
                let v = PackedRef::new(v, total, hd).prefix(kend, hd);
                gemm(&scores, kend, rows, v, &mut o[head * hd..], dim, false);
            }
        });
}
