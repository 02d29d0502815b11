//! AVX2/FMA/F16C kernels (x86-64), chosen at run time by `available()`. Each entry point
//! checks bounds with safe code before calling the `unsafe` kernel.

#![allow(unsafe_code)]

use std::arch::x86_64::*;
use std::sync::OnceLock;

use crate::quant::{QK, QK_K};

/// Bytes ahead of the current block to prefetch. Decode streams ~100 MB of weights per token
/// in many short rows; the hardware prefetcher restarts at every row, this keeps the
/// memory pipeline full across row boundaries.
const PREFETCH_AHEAD: usize = 2048;

pub(super) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    })
}

pub(super) fn dot_q4_1(row: &[u8], x: &[f32], xsum: &[f32]) -> f32 {
    let nb = x.len() / QK;
    assert!(row.len() >= nb * 20 && xsum.len() >= nb);
    // SAFETY: `available()` confirmed AVX2/FMA/F16C before any caller reaches here, and the
    // assert above bounds every pointer the kernel reads.
    unsafe { dot_q4_1_avx2(row.as_ptr(), x.as_ptr(), xsum.as_ptr(), nb) }
}

pub(super) fn dot_q8_0(row: &[u8], x: &[f32]) -> f32 {
    let nb = x.len() / QK;
    assert!(row.len() >= nb * 34);
    // SAFETY: as for `dot_q4_1`.
    unsafe { dot_q8_0_avx2(row.as_ptr(), x.as_ptr(), nb) }
}

pub(super) fn dot4_q4_1(row: &[u8], xs: [&[f32]; 4], sums: [&[f32]; 4]) -> [f32; 4] {
    let nb = xs[0].len() / QK;
    assert!(row.len() >= nb * 20);
    assert!(xs.iter().all(|x| x.len() >= nb * QK) && sums.iter().all(|s| s.len() >= nb));
    // SAFETY: `available()` was checked by the caller; the asserts bound every read.
    unsafe {
        dot4_q4_1_avx2(
            row.as_ptr(),
            xs.map(<[f32]>::as_ptr),
            sums.map(<[f32]>::as_ptr),
            nb,
        )
    }
}

pub(super) fn dot4_q8_0(row: &[u8], xs: [&[f32]; 4]) -> [f32; 4] {
    let nb = xs[0].len() / QK;
    assert!(row.len() >= nb * 34 && xs.iter().all(|x| x.len() >= nb * QK));
    // SAFETY: as for `dot4_q4_1`.
    unsafe { dot4_q8_0_avx2(row.as_ptr(), xs.map(<[f32]>::as_ptr), nb) }
}

/// One decoded block (4 x 8 weights) against 4 token rows; weights stay in registers.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_times_4(w: [__m256; 4], xs: [*const f32; 4], d: __m256, acc: &mut [__m256; 4]) {
    for t in 0..4 {
        // SAFETY: caller guarantees 32 readable floats at each `xs[t]`.
        unsafe {
            let xp = xs[t];
            let s0 = _mm256_fmadd_ps(
                w[1],
                _mm256_loadu_ps(xp.add(8)),
                _mm256_mul_ps(w[0], _mm256_loadu_ps(xp)),
            );
            let s1 = _mm256_fmadd_ps(
                w[3],
                _mm256_loadu_ps(xp.add(24)),
                _mm256_mul_ps(w[2], _mm256_loadu_ps(xp.add(16))),
            );
            acc[t] = _mm256_fmadd_ps(d, _mm256_add_ps(s0, s1), acc[t]);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q4_1_avx2(
    row: *const u8,
    xs: [*const f32; 4],
    sums: [*const f32; 4],
    nb: usize,
) -> [f32; 4] {
    let mask = _mm256_set1_epi32(0x0F);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut off = [0.0f32; 4];
    for b in 0..nb {
        // SAFETY: block `b` and the 32 floats of each row at `b * QK` are within the bounds
        // the caller checked.
        unsafe {
            let blk = row.add(b * 20);
            let (d, m) = two_f16(blk);
            let q0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(blk.add(4).cast()));
            let q1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(blk.add(12).cast()));
            let w = [
                _mm256_cvtepi32_ps(_mm256_and_si256(q0, mask)),
                _mm256_cvtepi32_ps(_mm256_and_si256(q1, mask)),
                _mm256_cvtepi32_ps(_mm256_srli_epi32::<4>(q0)),
                _mm256_cvtepi32_ps(_mm256_srli_epi32::<4>(q1)),
            ];
            block_times_4(w, xs.map(|x| x.add(b * QK)), _mm256_set1_ps(d), &mut acc);
            for t in 0..4 {
                off[t] += m * *sums[t].add(b);
            }
        }
    }
    [0, 1, 2, 3].map(|t| hsum(acc[t]) + off[t])
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q8_0_avx2(row: *const u8, xs: [*const f32; 4], nb: usize) -> [f32; 4] {
    let mut acc = [_mm256_setzero_ps(); 4];
    for b in 0..nb {
        // SAFETY: as in `dot4_q4_1_avx2`.
        unsafe {
            let blk = row.add(b * 34);
            let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
                blk.cast::<u16>().read_unaligned(),
            ))));
            let q = blk.add(2);
            // Written out, not `[0, 1, 2, 3].map(..)`: a closure lacks this function's target
            // features, so the intrinsics in it would not inline.
            let w = [
                i8x8_to_f32(_mm_loadl_epi64(q.cast())),
                i8x8_to_f32(_mm_loadl_epi64(q.add(8).cast())),
                i8x8_to_f32(_mm_loadl_epi64(q.add(16).cast())),
                i8x8_to_f32(_mm_loadl_epi64(q.add(24).cast())),
            ];
            block_times_4(w, xs.map(|x| x.add(b * QK)), _mm256_set1_ps(d), &mut acc);
        }
    }
    acc.map(|a| hsum(a))
}

pub(super) fn dot_q4_0(row: &[u8], x: &[f32]) -> f32 {
    let nb = x.len() / QK;
    assert!(row.len() >= nb * 18);
    // SAFETY: as for `dot_q4_1`.
    unsafe { dot_q4_0_avx2(row.as_ptr(), x.as_ptr(), nb) }
}

pub(super) fn dot_q4k(row: &[u8], x: &[f32], xsum: &[f32]) -> f32 {
    let nb = x.len() / QK_K;
    assert!(row.len() >= nb * 144 && xsum.len() >= nb * 8);
    // SAFETY: as for `dot_q4_1`.
    unsafe { dot_q4k_avx2(row.as_ptr(), x.as_ptr(), xsum.as_ptr(), nb) }
}

pub(super) fn dot_q6k(row: &[u8], x: &[f32]) -> f32 {
    let nb = x.len() / QK_K;
    assert!(row.len() >= nb * 210);
    // SAFETY: as for `dot_q4_1`.
    unsafe { dot_q6k_avx2(row.as_ptr(), x.as_ptr(), nb) }
}

/// 8 bytes at `p` widened to 32-bit lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn bytes8(p: *const u8) -> __m256i {
    // SAFETY: caller guarantees 8 readable bytes at `p`.
    _mm256_cvtepu8_epi32(unsafe { _mm_loadl_epi64(p.cast()) })
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_0_avx2(row: *const u8, x: *const f32, nb: usize) -> f32 {
    let mask = _mm256_set1_epi32(0x0F);
    let eight = _mm256_set1_epi32(8);
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for b in 0..nb {
        // SAFETY: block `b` is within the bounds the caller checked; the prefetch address
        // is never dereferenced.
        unsafe {
            let blk = row.add(b * 18);
            _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD).cast());
            let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
                blk.cast::<u16>().read_unaligned(),
            ))));
            let q0 = bytes8(blk.add(2));
            let q1 = bytes8(blk.add(10));
            // Subtracting the zero point in integers keeps the result exact.
            let w = |q: __m256i| _mm256_cvtepi32_ps(_mm256_sub_epi32(q, eight));
            let xp = x.add(b * QK);
            let s0 = _mm256_fmadd_ps(
                w(_mm256_and_si256(q1, mask)),
                _mm256_loadu_ps(xp.add(8)),
                _mm256_mul_ps(w(_mm256_and_si256(q0, mask)), _mm256_loadu_ps(xp)),
            );
            let s1 = _mm256_fmadd_ps(
                w(_mm256_srli_epi32::<4>(q1)),
                _mm256_loadu_ps(xp.add(24)),
                _mm256_mul_ps(w(_mm256_srli_epi32::<4>(q0)), _mm256_loadu_ps(xp.add(16))),
            );
            let s = _mm256_add_ps(s0, s1);
            if b & 1 == 0 {
                acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d), s, acc0);
            } else {
                acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d), s, acc1);
            }
        }
    }
    hsum(_mm256_add_ps(acc0, acc1))
}

/// Q4_K: per 64 elements, low nibbles form one 32-element sub-block and high nibbles the
/// next, each with its own 6-bit scale and min.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4k_avx2(row: *const u8, x: *const f32, xsum: *const f32, nb: usize) -> f32 {
    let mask = _mm256_set1_epi32(0x0F);
    let mut acc = _mm256_setzero_ps();
    let mut offsets = 0.0f32;
    for b in 0..nb {
        // SAFETY: block `b` (144 bytes), its 256 floats and 8 sub-block sums are within the
        // bounds the caller checked; prefetch addresses are never dereferenced.
        unsafe {
            let blk = row.add(b * 144);
            _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD).cast());
            _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD + 64).cast());
            let (d, dmin) = two_f16(blk);
            let scales = std::slice::from_raw_parts(blk.add(4), 12);
            let qs = blk.add(16);
            let xb = x.add(b * QK_K);
            let sums = xsum.add(b * 8);
            for c in 0..4 {
                let (sc_lo, m_lo) = crate::quant::codec::scale_min_k4(2 * c, scales);
                let (sc_hi, m_hi) = crate::quant::codec::scale_min_k4(2 * c + 1, scales);
                let q = qs.add(32 * c);
                let xl = xb.add(64 * c);
                let xh = xl.add(32);
                let mut s_lo = _mm256_setzero_ps();
                let mut s_hi = _mm256_setzero_ps();
                for i in 0..4 {
                    let v = bytes8(q.add(8 * i));
                    let lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, mask));
                    let hi = _mm256_cvtepi32_ps(_mm256_srli_epi32::<4>(v));
                    s_lo = _mm256_fmadd_ps(lo, _mm256_loadu_ps(xl.add(8 * i)), s_lo);
                    s_hi = _mm256_fmadd_ps(hi, _mm256_loadu_ps(xh.add(8 * i)), s_hi);
                }
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * f32::from(sc_lo)), s_lo, acc);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * f32::from(sc_hi)), s_hi, acc);
                offsets += dmin
                    * (f32::from(m_lo) * *sums.add(2 * c) + f32::from(m_hi) * *sums.add(2 * c + 1));
            }
        }
    }
    hsum(acc) - offsets
}

/// Q6_K: each 128-element half combines 4-bit `ql` with 2-bit `qh` into four interleaved
/// runs of 32, scaled per 16 elements by signed 8-bit scales.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q6k_avx2(row: *const u8, x: *const f32, nb: usize) -> f32 {
    let m4 = _mm256_set1_epi32(0x0F);
    let m2 = _mm256_set1_epi32(0x03);
    let bias = _mm256_set1_epi32(32);
    let mut acc = _mm256_setzero_ps();
    for b in 0..nb {
        // SAFETY: block `b` (210 bytes) and its 256 floats are within the bounds the
        // caller checked; prefetch addresses are never dereferenced.
        unsafe {
            let blk = row.add(b * 210);
            _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD).cast());
            _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD + 64).cast());
            _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD + 128).cast());
            let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
                blk.add(208).cast::<u16>().read_unaligned(),
            ))));
            let xb = x.add(b * QK_K);
            for h in 0..2 {
                let ql = blk.add(64 * h);
                let qh = blk.add(128 + 32 * h);
                let sc = blk.add(192 + 8 * h).cast::<i8>();
                let xh = xb.add(128 * h);
                // Two groups of 16 `l`s share a scale index.
                for g in 0..2 {
                    let mut s = [_mm256_setzero_ps(); 4];
                    for half8 in 0..2 {
                        let l = 16 * g + 8 * half8;
                        let a = bytes8(ql.add(l));
                        let c = bytes8(ql.add(l + 32));
                        let hb = bytes8(qh.add(l));
                        let hi = |shift: i32| -> __m256i {
                            let v = match shift {
                                0 => hb,
                                2 => _mm256_srli_epi32::<2>(hb),
                                4 => _mm256_srli_epi32::<4>(hb),
                                _ => _mm256_srli_epi32::<6>(hb),
                            };
                            _mm256_slli_epi32::<4>(_mm256_and_si256(v, m2))
                        };
                        let q = [
                            _mm256_or_si256(_mm256_and_si256(a, m4), hi(0)),
                            _mm256_or_si256(_mm256_and_si256(c, m4), hi(2)),
                            _mm256_or_si256(_mm256_srli_epi32::<4>(a), hi(4)),
                            _mm256_or_si256(_mm256_srli_epi32::<4>(c), hi(6)),
                        ];
                        for (k, (sk, &qk)) in s.iter_mut().zip(&q).enumerate() {
                            let w = _mm256_cvtepi32_ps(_mm256_sub_epi32(qk, bias));
                            *sk = _mm256_fmadd_ps(w, _mm256_loadu_ps(xh.add(l + 32 * k)), *sk);
                        }
                    }
                    for (k, &sk) in s.iter().enumerate() {
                        let scale = d * f32::from(*sc.add(g + 2 * k));
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(scale), sk, acc);
                    }
                }
            }
        }
    }
    hsum(acc)
}

pub(super) fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    assert!(row.len() >= x.len() * 4);
    // SAFETY: as for `dot_q4_1`; unaligned loads are used for the byte-backed row.
    unsafe { dot_f32_avx2(row.as_ptr(), x.as_ptr(), x.len()) }
}

pub(super) fn dot_f32_slices(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    // SAFETY: features checked by the caller; `n` bounds both slices.
    unsafe { dot_f32_avx2(a.as_ptr().cast(), b.as_ptr(), n) }
}

pub(super) fn strided_dots(
    q: &[f32],
    rows: &[f32],
    offset: usize,
    stride: usize,
    scale: f32,
    out: &mut [f32],
) {
    // SAFETY: features checked by the caller, which also bounds-checked the last row.
    unsafe { strided_dots_avx2(q, rows.as_ptr().add(offset), stride, scale, out) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn strided_dots_avx2(
    q: &[f32],
    rows: *const f32,
    stride: usize,
    scale: f32,
    out: &mut [f32],
) {
    let hd = q.len();
    for (p, o) in out.iter_mut().enumerate() {
        // SAFETY: row `p` lies within the slice the caller checked; `hd` is a multiple of 8.
        unsafe {
            let r = rows.add(p * stride);
            let mut acc0 = _mm256_setzero_ps();
            let mut acc1 = _mm256_setzero_ps();
            let mut j = 0;
            while j + 16 <= hd {
                acc0 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(q.as_ptr().add(j)),
                    _mm256_loadu_ps(r.add(j)),
                    acc0,
                );
                acc1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(q.as_ptr().add(j + 8)),
                    _mm256_loadu_ps(r.add(j + 8)),
                    acc1,
                );
                j += 16;
            }
            if j < hd {
                acc0 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(q.as_ptr().add(j)),
                    _mm256_loadu_ps(r.add(j)),
                    acc0,
                );
            }
            *o = scale * hsum(_mm256_add_ps(acc0, acc1));
        }
    }
}

pub(super) fn strided_weighted_sum(
    w: &[f32],
    rows: &[f32],
    offset: usize,
    stride: usize,
    out: &mut [f32],
) {
    // SAFETY: features checked by the caller, which also bounds-checked the last row.
    unsafe { strided_weighted_sum_avx2(w, rows.as_ptr().add(offset), stride, out) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn strided_weighted_sum_avx2(w: &[f32], rows: *const f32, stride: usize, out: &mut [f32]) {
    let hd = out.len();
    // Four 8-wide accumulators per pass keep up to 32 features in registers across all
    // positions.
    let mut j = 0;
    while j < hd {
        let width = (hd - j).min(32);
        let mut acc = [_mm256_setzero_ps(); 4];
        for (p, &wp) in w.iter().enumerate() {
            let wv = _mm256_set1_ps(wp);
            // SAFETY: row `p`, features `j..j + width`, lie within the checked slice.
            unsafe {
                let r = rows.add(p * stride + j);
                for (k, a) in acc.iter_mut().enumerate().take(width / 8) {
                    *a = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r.add(8 * k)), *a);
                }
            }
        }
        for (k, a) in acc.iter().enumerate().take(width / 8) {
            // SAFETY: `j + 8 * k + 8 <= hd == out.len()`.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(j + 8 * k), *a) };
        }
        j += width;
    }
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps::<1>(v);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// Two f16 at `p` (Q4_1's d and m) widened together with one F16C instruction.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn two_f16(p: *const u8) -> (f32, f32) {
    // SAFETY: caller guarantees 4 readable bytes at `p`.
    let v = _mm_cvtph_ps(_mm_cvtsi32_si128(unsafe {
        p.cast::<i32>().read_unaligned()
    }));
    (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_shuffle_ps::<1>(v, v)))
}

/// `d · Σ q·x` as a vector (to be summed later) and `m · Σ x` for one Q4_1 block.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_1_block(blk: *const u8, xp: *const f32, xsum: f32, acc: __m256) -> (__m256, f32) {
    // SAFETY: caller guarantees a whole block at `blk` and 32 floats at `xp`; the prefetch
    // address is never dereferenced.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD).cast());
        let (d, m) = two_f16(blk);
        let mask = _mm256_set1_epi32(0x0F);
        // Widening 8 quant bytes to 32-bit lanes first means one shuffle yields 16
        // elements: low nibbles are elements i, high nibbles elements i + 16.
        let q0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(blk.add(4).cast()));
        let q1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(blk.add(12).cast()));
        let lo0 = _mm256_cvtepi32_ps(_mm256_and_si256(q0, mask));
        let lo1 = _mm256_cvtepi32_ps(_mm256_and_si256(q1, mask));
        let hi0 = _mm256_cvtepi32_ps(_mm256_srli_epi32::<4>(q0));
        let hi1 = _mm256_cvtepi32_ps(_mm256_srli_epi32::<4>(q1));
        let s0 = _mm256_fmadd_ps(
            lo1,
            _mm256_loadu_ps(xp.add(8)),
            _mm256_mul_ps(lo0, _mm256_loadu_ps(xp)),
        );
        let s1 = _mm256_fmadd_ps(
            hi1,
            _mm256_loadu_ps(xp.add(24)),
            _mm256_mul_ps(hi0, _mm256_loadu_ps(xp.add(16))),
        );
        (
            _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_add_ps(s0, s1), acc),
            m * xsum,
        )
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_1_avx2(row: *const u8, x: *const f32, xsum: *const f32, nb: usize) -> f32 {
    // Two blocks per step with separate accumulators, so consecutive blocks do not wait on
    // each other's FMA latency (an indexed accumulator array would live on the stack).
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (mut off0, mut off1) = (0.0f32, 0.0f32);
    let mut b = 0;
    // SAFETY: every block index used is below `nb`, within the bounds the caller checked.
    unsafe {
        while b + 2 <= nb {
            let (a, o) = q4_1_block(row.add(b * 20), x.add(b * QK), *xsum.add(b), acc0);
            acc0 = a;
            off0 += o;
            let (a, o) = q4_1_block(
                row.add((b + 1) * 20),
                x.add((b + 1) * QK),
                *xsum.add(b + 1),
                acc1,
            );
            acc1 = a;
            off1 += o;
            b += 2;
        }
        if b < nb {
            let (a, o) = q4_1_block(row.add(b * 20), x.add(b * QK), *xsum.add(b), acc0);
            acc0 = a;
            off0 += o;
        }
    }
    hsum(_mm256_add_ps(acc0, acc1)) + (off0 + off1)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn i8x8_to_f32(v: __m128i) -> __m256 {
    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_block(blk: *const u8, xp: *const f32, acc: __m256) -> __m256 {
    // SAFETY: caller guarantees a whole block at `blk` and 32 floats at `xp`; the prefetch
    // address is never dereferenced.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_AHEAD).cast());
        let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
            blk.cast::<u16>().read_unaligned(),
        ))));
        let q = blk.add(2);
        let w = |i: usize| i8x8_to_f32(_mm_loadl_epi64(q.add(8 * i).cast()));
        let s0 = _mm256_fmadd_ps(
            w(1),
            _mm256_loadu_ps(xp.add(8)),
            _mm256_mul_ps(w(0), _mm256_loadu_ps(xp)),
        );
        let s1 = _mm256_fmadd_ps(
            w(3),
            _mm256_loadu_ps(xp.add(24)),
            _mm256_mul_ps(w(2), _mm256_loadu_ps(xp.add(16))),
        );
        _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_add_ps(s0, s1), acc)
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q8_0_avx2(row: *const u8, x: *const f32, nb: usize) -> f32 {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut b = 0;
    // SAFETY: every block index used is below `nb`, within the bounds the caller checked.
    unsafe {
        while b + 2 <= nb {
            acc0 = q8_0_block(row.add(b * 34), x.add(b * QK), acc0);
            acc1 = q8_0_block(row.add((b + 1) * 34), x.add((b + 1) * QK), acc1);
            b += 2;
        }
        if b < nb {
            acc0 = q8_0_block(row.add(b * 34), x.add(b * QK), acc0);
        }
    }
    hsum(_mm256_add_ps(acc0, acc1))
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_f32_avx2(row: *const u8, x: *const f32, n: usize) -> f32 {
    let w = row.cast::<f32>();
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY: `i + 8 <= n` keeps every load inside the checked `n` elements.
    unsafe {
        while i + 8 <= n {
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(w.add(i)), _mm256_loadu_ps(x.add(i)), acc);
            i += 8;
        }
        let mut total = hsum(acc);
        while i < n {
            total += w.add(i).read_unaligned() * *x.add(i);
            i += 1;
        }
        total
    }
}
