//! Reference decoders, one per block type, following ggml's `dequantize_row_*`.

use half::{bf16, f16};

use super::{GgmlType, QK, QK_K};

#[inline]
pub(crate) fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Decodes `data` (whole blocks) into `out`; `out.len()` elements are produced.
pub fn dequantize(ty: GgmlType, data: &[u8], out: &mut [f32]) {
    let bs = ty.block_size();
    let bb = ty.block_bytes();
    assert_eq!(out.len() % bs, 0, "output is not whole blocks");
    assert!(
        data.len() >= out.len() / bs * bb,
        "input shorter than output"
    );
    for (block, o) in data.chunks_exact(bb).zip(out.chunks_exact_mut(bs)) {
        dequantize_block(ty, block, o);
    }
}

/// Decodes one block (`ty.block_bytes()` bytes) into `out` (`ty.block_size()` elements).
pub fn dequantize_block(ty: GgmlType, b: &[u8], out: &mut [f32]) {
    match ty {
        GgmlType::F32 => out[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        GgmlType::F16 => out[0] = f16_at(b, 0),
        GgmlType::BF16 => out[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        GgmlType::Q8_0 => {
            let d = f16_at(b, 0);
            for (o, &q) in out[..QK].iter_mut().zip(&b[2..2 + QK]) {
                *o = d * f32::from(q as i8);
            }
        }
        GgmlType::Q4_0 => {
            let d = f16_at(b, 0);
            let qs = &b[2..2 + QK / 2];
            for (i, &q) in qs.iter().enumerate() {
                out[i] = d * (f32::from(q & 0x0F) - 8.0);
                out[i + QK / 2] = d * (f32::from(q >> 4) - 8.0);
            }
        }
        GgmlType::Q4_1 => {
            let d = f16_at(b, 0);
            let m = f16_at(b, 2);
            let qs = &b[4..4 + QK / 2];
            for (i, &q) in qs.iter().enumerate() {
                out[i] = d * f32::from(q & 0x0F) + m;
                out[i + QK / 2] = d * f32::from(q >> 4) + m;
            }
        }
        GgmlType::Q4K => dequantize_q4k(b, out),
        GgmlType::Q6K => dequantize_q6k(b, out),
    }
}

/// The 6-bit scale and min of sub-block `j` packed into Q4_K's 12 scale bytes.
#[inline]
pub(crate) fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Q4_K: 256 elements as 8 sub-blocks of 32, each with a 6-bit scale and min relative to the
/// block's f16 `d` and `dmin`. Layout: d, dmin, scales[12], qs[128].
fn dequantize_q4k(b: &[u8], out: &mut [f32]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = &b[4..16];
    let qs = &b[16..16 + QK_K / 2];
    for (chunk, (q, y)) in qs
        .chunks_exact(32)
        .zip(out[..QK_K].chunks_exact_mut(64))
        .enumerate()
    {
        let (sc1, m1) = scale_min_k4(2 * chunk, scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
        let (d1, m1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), dmin * f32::from(m2));
        for l in 0..32 {
            y[l] = d1 * f32::from(q[l] & 0x0F) - m1;
            y[l + 32] = d2 * f32::from(q[l] >> 4) - m2;
        }
    }
}

/// Q6_K: 256 elements, 4 low bits in `ql`, 2 high bits in `qh`, 16 signed 8-bit scales.
/// Layout: ql[128], qh[64], scales[16], d.
fn dequantize_q6k(b: &[u8], out: &mut [f32]) {
    let ql_all = &b[..QK_K / 2];
    let qh_all = &b[QK_K / 2..QK_K / 2 + QK_K / 4];
    let sc_all = &b[QK_K / 2 + QK_K / 4..QK_K / 2 + QK_K / 4 + QK_K / 16];
    let d = f16_at(b, QK_K / 2 + QK_K / 4 + QK_K / 16);
    for half in 0..2 {
        let ql = &ql_all[half * 64..];
        let qh = &qh_all[half * 32..];
        let sc = &sc_all[half * 8..];
        let y = &mut out[half * 128..];
        for l in 0..32 {
            let is = l / 16;
            let q1 = i32::from((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
            let q2 = i32::from((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
            let q3 = i32::from((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            let q4 = i32::from((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            let s = |k: usize| d * f32::from(sc[is + k] as i8);
            y[l] = s(0) * q1 as f32;
            y[l + 32] = s(2) * q2 as f32;
            y[l + 64] = s(4) * q3 as f32;
            y[l + 96] = s(6) * q4 as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: f32) -> [u8; 2] {
        f16::from_f32(v).to_le_bytes()
    }

    #[test]
    fn f32_f16_bf16() {
        let mut o = [0.0f32; 3];
        dequantize(GgmlType::F32, &1.5f32.to_le_bytes(), &mut o[..1]);
        dequantize(GgmlType::F16, &h(-2.25), &mut o[1..2]);
        dequantize(
            GgmlType::BF16,
            &bf16::from_f32(3.0).to_le_bytes(),
            &mut o[2..3],
        );
        assert_eq!(o, [1.5, -2.25, 3.0]);
    }

    #[test]
    fn q8_0() {
        let mut b = h(0.5).to_vec();
        b.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let mut o = [0.0f32; 32];
        dequantize(GgmlType::Q8_0, &b, &mut o);
        assert_eq!(o[0], -8.0);
        assert_eq!(o[16], 0.0);
        assert_eq!(o[31], 7.5);
    }

    #[test]
    fn q4_0() {
        let mut b = h(2.0).to_vec();
        // Byte 0: low nibble 0 -> element 0, high nibble 15 -> element 16.
        b.push(0xF0);
        b.extend([0x88; 15]);
        let mut o = [0.0f32; 32];
        dequantize(GgmlType::Q4_0, &b, &mut o);
        assert_eq!(o[0], -16.0);
        assert_eq!(o[16], 14.0);
        assert_eq!(o[1], 0.0);
        assert_eq!(o[17], 0.0);
    }

    #[test]
    fn q4_1() {
        let mut b = h(0.25).to_vec();
        b.extend(h(-1.0));
        b.push(0x3A); // element 0 = 10, element 16 = 3
        b.extend([0x00; 15]);
        let mut o = [0.0f32; 32];
        dequantize(GgmlType::Q4_1, &b, &mut o);
        assert_eq!(o[0], 0.25 * 10.0 - 1.0);
        assert_eq!(o[16], 0.25 * 3.0 - 1.0);
        assert_eq!(o[5], -1.0);
    }

    #[test]
    fn q4_k() {
        let mut b = h(0.5).to_vec();
        b.extend(h(0.25));
        // Sub-blocks 0..4 take scale/min from the low 6 bits of bytes 0..4 / 4..8; sub-blocks
        // 4..8 combine nibbles of bytes 8..12 with the top two bits of bytes 0..8.
        let mut scales = [0u8; 12];
        scales[0] = 3; // sub-block 0 scale
        scales[4] = 2; // sub-block 0 min
        scales[1] = 5; // sub-block 1 scale
        scales[5] = 1; // sub-block 1 min
        scales[8] = 0x21; // sub-block 4: scale low nibble 1, min low nibble 2
        scales[0] |= 0b0100_0000; // sub-block 4 scale high bits = 1 -> scale 17
        scales[4] |= 0b1000_0000; // sub-block 4 min high bits = 2 -> min 34
        b.extend(scales);
        let mut qs = [0u8; 128];
        qs[0] = 0x74; // element 0 = 4 (sub-block 0), element 32 = 7 (sub-block 1)
        qs[64] = 0x09; // element 128 = 9 (sub-block 4)
        b.extend(qs);
        let mut o = [0.0f32; 256];
        dequantize(GgmlType::Q4K, &b, &mut o);
        assert_eq!(o[0], 0.5 * 3.0 * 4.0 - 0.25 * 2.0);
        assert_eq!(o[1], -0.25 * 2.0);
        assert_eq!(o[32], 0.5 * 5.0 * 7.0 - 0.25 * 1.0);
        assert_eq!(o[128], 0.5 * 17.0 * 9.0 - 0.25 * 34.0);
    }

    #[test]
    fn q6_k() {
        let mut b = vec![0u8; 210];
        // Element 0: low 4 bits 5 from ql[0], high 2 bits 2 from qh[0] -> 37 - 32 = 5,
        // scale index 0. Element 96: high nibble of ql[32], bits 6..8 of qh[0], scale 6.
        b[0] = 0x05;
        b[32] = 0x30;
        b[128] = 0b1100_0010;
        let scales = 128 + 64;
        b[scales] = 2;
        b[scales + 6] = (-3i8) as u8;
        b[208..210].copy_from_slice(&h(0.5));
        let mut o = [0.0f32; 256];
        dequantize(GgmlType::Q6K, &b, &mut o);
        assert_eq!(o[0], 0.5 * 2.0 * 5.0);
        assert_eq!(o[96], 0.5 * -3.0 * ((3 | (3 << 4)) - 32) as f32);
        // Element 1: all-zero quants decode to -32 times its scale (index 0).
        assert_eq!(o[1], 0.5 * 2.0 * -32.0);
    }
}
