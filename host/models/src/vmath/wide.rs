//! The slice loops of `vmath` compiled again with AVX-512 or AVX2 enabled and picked at run
//! time: the same branch-free code, vectorised 16 or 8 wide instead of the baseline's 4.

#![allow(unsafe_code)]

use crate::gemm::Isa;

pub(super) fn bias_gelu(xs: &mut [f32], ld: usize, rows: usize, bias: &[f32], gelu: bool) {
    let cols = if bias.is_empty() {
        xs.len().min(ld)
    } else {
        bias.len()
    };
    assert!(ld >= cols && (rows == 0 || xs.len() >= (rows - 1) * ld + cols));
    match Isa::detect() {
        // SAFETY: `Isa::detect` saw the CPU features each copy is compiled for; the bodies are
        // safe Rust (bounds-checked slices), only their instruction selection differs.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512(xs, ld, rows, bias, gelu) },
        // SAFETY: as above, with AVX2 and FMA detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2(xs, ld, rows, bias, gelu) },
        _ => super::bias_gelu_body(xs, ld, rows, bias, gelu),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512(xs: &mut [f32], ld: usize, rows: usize, bias: &[f32], gelu: bool) {
    super::bias_gelu_body(xs, ld, rows, bias, gelu);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(xs: &mut [f32], ld: usize, rows: usize, bias: &[f32], gelu: bool) {
    super::bias_gelu_body(xs, ld, rows, bias, gelu);
}

pub(super) fn softmax_scaled(xs: &mut [f32], scale: f32) {
    match Isa::detect() {
        // SAFETY: as for `bias_gelu`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { softmax_avx512(xs, scale) },
        // SAFETY: as for `bias_gelu`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { softmax_avx2(xs, scale) },
        _ => super::softmax_scaled_body(xs, scale),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_avx512(xs: &mut [f32], scale: f32) {
    super::softmax_scaled_body(xs, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_avx2(xs: &mut [f32], scale: f32) {
    super::softmax_scaled_body(xs, scale);
}

pub(super) fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    match Isa::detect() {
        // SAFETY: as for `bias_gelu`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { layer_norm_avx512(x, gamma, beta, eps) },
        // SAFETY: as for `bias_gelu`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { layer_norm_avx2(x, gamma, beta, eps) },
        _ => super::layer_norm_rows_body(x, gamma, beta, eps),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn layer_norm_avx512(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    super::layer_norm_rows_body(x, gamma, beta, eps);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn layer_norm_avx2(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    super::layer_norm_rows_body(x, gamma, beta, eps);
}

pub(super) fn silu_mul(gate: &mut [f32], up: &[f32]) {
    match Isa::detect() {
        // SAFETY: as for `bias_gelu`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { silu_mul_avx512(gate, up) },
        // SAFETY: as for `bias_gelu`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { silu_mul_avx2(gate, up) },
        _ => super::silu_mul_body(gate, up),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn silu_mul_avx512(gate: &mut [f32], up: &[f32]) {
    super::silu_mul_body(gate, up);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn silu_mul_avx2(gate: &mut [f32], up: &[f32]) {
    super::silu_mul_body(gate, up);
}
