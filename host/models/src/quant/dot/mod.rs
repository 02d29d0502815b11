//! Dot products of one encoded weight row with an f32 activation vector.
//!
//! Weights are expanded inside the kernel and multiplied in f32, so results match "dequantize
//! to f32, then matmul" up to summation order (activations are never quantized).

use super::codec::{dequantize_block, f16_at};
use super::{GgmlType, QK, QK_K};

/// Per-32-element sums of an activation vector; the offset terms of Q4_1 (`m * sum(x)` per
/// block) and Q4_K (`dmin * min * sum(x)` per 32-element sub-block) need them.
pub(crate) fn block_sums(x: &[f32]) -> Vec<f32> {
    x.chunks(QK).map(|c| c.iter().sum()).collect()
}

/// `row · x` for one encoded row (`x.len()` elements; panics if `row` is shorter). `xsum` is
/// `block_sums(x)` when the caller has it; types that need it compute it when it is missing.
pub fn dot_row(ty: GgmlType, row: &[u8], x: &[f32], xsum: &[f32]) -> f32 {
    let owned;
    let xsum = if needs_block_sums(ty) && xsum.len() < x.len() / QK {
        owned = block_sums(x);
        &owned[..]
    } else {
        xsum
    };
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        match ty {
            GgmlType::Q4_1 => return avx2::dot_q4_1(row, x, xsum),
            GgmlType::Q8_0 => return avx2::dot_q8_0(row, x),
            GgmlType::Q4_0 => return avx2::dot_q4_0(row, x),
            GgmlType::Q4K => return avx2::dot_q4k(row, x, xsum),
            GgmlType::Q6K => return avx2::dot_q6k(row, x),
            GgmlType::F32 => return avx2::dot_f32(row, x),
            _ => {}
        }
    }
    dot_row_scalar(ty, row, x, xsum)
}

/// `dot_row` for one encoding, resolved once: `(row, x, block_sums(x))`.
pub(crate) type RowKernel = fn(&[u8], &[f32], &[f32]) -> f32;

/// The kernel `dot_row` would pick for `ty`; the caller provides block sums when
/// `needs_block_sums(ty)`.
pub(crate) fn row_kernel(ty: GgmlType) -> RowKernel {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        match ty {
            GgmlType::Q4_1 => return avx2::dot_q4_1,
            GgmlType::Q8_0 => return |r, x, _| avx2::dot_q8_0(r, x),
            GgmlType::Q4_0 => return |r, x, _| avx2::dot_q4_0(r, x),
            GgmlType::Q4K => return avx2::dot_q4k,
            GgmlType::Q6K => return |r, x, _| avx2::dot_q6k(r, x),
            GgmlType::F32 => return |r, x, _| avx2::dot_f32(r, x),
            _ => {}
        }
    }
    match ty {
        GgmlType::Q4_1 => |r, x, s| dot_row_scalar(GgmlType::Q4_1, r, x, s),
        GgmlType::Q8_0 => |r, x, s| dot_row_scalar(GgmlType::Q8_0, r, x, s),
        GgmlType::Q4_0 => |r, x, s| dot_row_scalar(GgmlType::Q4_0, r, x, s),
        GgmlType::Q4K => |r, x, s| dot_row_scalar(GgmlType::Q4K, r, x, s),
        GgmlType::Q6K => |r, x, s| dot_row_scalar(GgmlType::Q6K, r, x, s),
        GgmlType::F32 => |r, x, s| dot_row_scalar(GgmlType::F32, r, x, s),
        GgmlType::F16 => |r, x, s| dot_row_scalar(GgmlType::F16, r, x, s),
        GgmlType::BF16 => |r, x, s| dot_row_scalar(GgmlType::BF16, r, x, s),
    }
}

/// Tokens handled together by `dot_row_multi`.
pub(crate) const MULTI: usize = 4;

/// `row · x_t` for `MULTI` activation rows at once, decoding each weight block once for all of
/// them (prefill). `None` when no such kernel exists for `ty` on this CPU.
pub(crate) fn dot_row_multi(
    ty: GgmlType,
    row: &[u8],
    xs: [&[f32]; MULTI],
    sums: [&[f32]; MULTI],
) -> Option<[f32; MULTI]> {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        match ty {
            GgmlType::Q4_1 => return Some(avx2::dot4_q4_1(row, xs, sums)),
            GgmlType::Q8_0 => return Some(avx2::dot4_q8_0(row, xs)),
            _ => {}
        }
    }
    let _ = (ty, row, xs, sums);
    None
}

/// `a · b` over f32 slices (used on rows decoded once and reused for several tokens).
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::dot_f32_slices(a, b);
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `out[p] = scale * (q · rows[p])` where row `p` is `rows[offset + p * stride..][..q.len()]`
/// (one head's keys inside the KV cache): attention scores in one call per head.
pub(crate) fn strided_dots(
    q: &[f32],
    rows: &[f32],
    offset: usize,
    stride: usize,
    scale: f32,
    out: &mut [f32],
) {
    let hd = q.len();
    if let Some(last) = out.len().checked_sub(1) {
        assert!(
            offset + last * stride + hd <= rows.len(),
            "strided rows out of bounds"
        );
    }
    #[cfg(target_arch = "x86_64")]
    if avx2::available() && hd.is_multiple_of(8) {
        return avx2::strided_dots(q, rows, offset, stride, scale, out);
    }
    for (p, o) in out.iter_mut().enumerate() {
        let r = &rows[offset + p * stride..][..hd];
        *o = scale * q.iter().zip(r).map(|(a, b)| a * b).sum::<f32>();
    }
}

/// `out = Σ_p w[p] * rows[p]` with rows laid out as in `strided_dots` (attention's weighted
/// sum of one head's values).
pub(crate) fn strided_weighted_sum(
    w: &[f32],
    rows: &[f32],
    offset: usize,
    stride: usize,
    out: &mut [f32],
) {
    let hd = out.len();
    if let Some(last) = w.len().checked_sub(1) {
        assert!(
            offset + last * stride + hd <= rows.len(),
            "strided rows out of bounds"
        );
    }
    #[cfg(target_arch = "x86_64")]
    if avx2::available() && hd.is_multiple_of(8) {
        return avx2::strided_weighted_sum(w, rows, offset, stride, out);
    }
    out.fill(0.0);
    for (p, &wp) in w.iter().enumerate() {
        for (o, v) in out.iter_mut().zip(&rows[offset + p * stride..][..hd]) {
            *o += wp * v;
        }
    }
}

/// Whether `dot_row` on this type reads `block_sums(x)`.
pub(crate) fn needs_block_sums(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q4_1 | GgmlType::Q4K)
}

pub(crate) fn dot_row_scalar(ty: GgmlType, row: &[u8], x: &[f32], xsum: &[f32]) -> f32 {
    match ty {
        GgmlType::Q4_1 => dot_q4_1_scalar(row, x, xsum),
        GgmlType::Q8_0 => dot_q8_0_scalar(row, x),
        _ => dot_generic(ty, row, x),
    }
}

fn dot_q4_1_scalar(row: &[u8], x: &[f32], xsum: &[f32]) -> f32 {
    let mut total = 0.0f32;
    for ((b, xs), s) in row.chunks_exact(20).zip(x.chunks_exact(QK)).zip(xsum) {
        let d = f16_at(b, 0);
        let m = f16_at(b, 2);
        let mut acc = 0.0f32;
        for (i, &q) in b[4..20].iter().enumerate() {
            acc += f32::from(q & 0x0F) * xs[i] + f32::from(q >> 4) * xs[i + 16];
        }
        total += d * acc + m * s;
    }
    total
}

fn dot_q8_0_scalar(row: &[u8], x: &[f32]) -> f32 {
    let mut total = 0.0f32;
    for (b, xs) in row.chunks_exact(34).zip(x.chunks_exact(QK)) {
        let d = f16_at(b, 0);
        let acc: f32 = b[2..34]
            .iter()
            .zip(xs)
            .map(|(&q, &v)| f32::from(q as i8) * v)
            .sum();
        total += d * acc;
    }
    total
}

/// Any type: decode a block at a time into a stack buffer.
fn dot_generic(ty: GgmlType, row: &[u8], x: &[f32]) -> f32 {
    let bs = ty.block_size();
    let mut buf = [0.0f32; QK_K];
    let mut total = 0.0f32;
    for (b, xs) in row.chunks_exact(ty.block_bytes()).zip(x.chunks_exact(bs)) {
        dequantize_block(ty, b, &mut buf[..bs]);
        total += dot_f32(&buf[..bs], xs);
    }
    total
}

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::dequantize;

    fn pseudo_random_bytes(n: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect()
    }

    /// Blocks with sane f16 scales (random bytes would give NaN/inf scales).
    fn blocks(ty: GgmlType, nb: usize) -> Vec<u8> {
        let mut data = pseudo_random_bytes(nb * ty.block_bytes(), 7);
        for (i, b) in data.chunks_exact_mut(ty.block_bytes()).enumerate() {
            let d = half::f16::from_f32(0.01 * (i as f32 + 1.0)).to_le_bytes();
            match ty {
                GgmlType::Q4_1 => {
                    b[..2].copy_from_slice(&d);
                    b[2..4].copy_from_slice(&half::f16::from_f32(-0.05).to_le_bytes());
                }
                GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q4K => b[..2].copy_from_slice(&d),
                GgmlType::Q6K => b[208..210].copy_from_slice(&d),
                _ => {}
            }
            if ty == GgmlType::Q4K {
                b[2..4].copy_from_slice(&d);
            }
        }
        data
    }

    #[test]
    fn kernels_match_dequantize_then_dot() {
        for ty in [
            GgmlType::Q4_1,
            GgmlType::Q8_0,
            GgmlType::Q4_0,
            GgmlType::Q4K,
            GgmlType::Q6K,
        ] {
            let n = 512;
            let row = blocks(ty, n / ty.block_size());
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let mut w = vec![0.0; n];
            dequantize(ty, &row, &mut w);
            let expected: f64 = w
                .iter()
                .zip(&x)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            let xsum = block_sums(&x);
            let multi = dot_row_multi(ty, &row, [&x; MULTI], [&xsum; MULTI]);
            let multi = multi.unwrap_or([dot_row_scalar(ty, &row, &x, &xsum); MULTI]);
            let single = [
                dot_row(ty, &row, &x, &xsum),
                dot_row_scalar(ty, &row, &x, &xsum),
            ];
            for got in single.into_iter().chain(multi) {
                let tol = 1e-4 * expected.abs().max(1.0);
                assert!(
                    (f64::from(got) - expected).abs() < tol,
                    "{ty:?}: {got} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn strided_attention_kernels() {
        let (hd, stride, offset, n) = (64, 192, 64, 37);
        let rows: Vec<f32> = (0..offset + n * stride)
            .map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.05)
            .collect();
        let q: Vec<f32> = (0..hd).map(|i| (i % 5) as f32 - 2.0).collect();
        let w: Vec<f32> = (0..n).map(|p| 1.0 / (p + 1) as f32).collect();
        let mut scores = vec![0.0; n];
        strided_dots(&q, &rows, offset, stride, 0.5, &mut scores);
        let mut sum = vec![0.0; hd];
        strided_weighted_sum(&w, &rows, offset, stride, &mut sum);
        for p in 0..n {
            let r = &rows[offset + p * stride..][..hd];
            let e: f32 = 0.5 * q.iter().zip(r).map(|(a, b)| a * b).sum::<f32>();
            assert!((scores[p] - e).abs() < 1e-4, "{p}: {} vs {e}", scores[p]);
        }
        for j in 0..hd {
            let e: f32 = (0..n).map(|p| w[p] * rows[offset + p * stride + j]).sum();
            assert!((sum[j] - e).abs() < 1e-4, "{j}: {} vs {e}", sum[j]);
        }
    }

    #[test]
    fn f32_kernel() {
        let w: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
        let x = vec![2.0f32; 37];
        let expected: f32 = w.iter().sum::<f32>() * 2.0;
        assert_eq!(dot_row(GgmlType::F32, &bytes, &x, &[]), expected);
    }
}
