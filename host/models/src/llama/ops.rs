//! Row-wise f32 kernels of the decoder, on `[rows, width]` buffers.

pub(super) fn rms_norm(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    rms_norm_into(x, weight, eps, &mut out);
    out
}

pub(super) fn rms_norm_into(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let d = weight.len();
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for ((o, v), w) in o.iter_mut().zip(row).zip(weight) {
            *o = w * (v * inv);
        }
    }
}

/// Per-pair rotation frequencies: `theta^(-2i/rope_dim)`, divided by the model's frequency
/// factors when it has them (Llama 3.1's `rope_freqs`), as llama.cpp applies them.
pub(super) fn inv_freqs(rope_dim: usize, theta: f32, factors: Option<&[f32]>) -> Vec<f32> {
    (0..rope_dim / 2)
        .map(|i| {
            let f = 1.0 / theta.powf((2 * i) as f32 / rope_dim as f32);
            f / factors.and_then(|ff| ff.get(i)).copied().unwrap_or(1.0)
        })
        .collect()
}

/// `(cos, sin)` of every pair at `pos`; computed once per row and shared by all layers.
pub(super) fn rope_angles(inv_freqs: &[f32], pos: f32) -> Vec<(f32, f32)> {
    inv_freqs
        .iter()
        .map(|&f| {
            let a = pos * f;
            (a.cos(), a.sin())
        })
        .collect()
}

/// Rotates adjacent pairs (x[2i], x[2i+1]) of the first features of every head. GGUF stores
/// Q/K permuted for this "normal" layout, so it matches HF's rotate-half on the unpermuted
/// weights.
pub(super) fn rope(x: &mut [f32], head_dim: usize, angles: &[(f32, f32)]) {
    for head in x.chunks_exact_mut(head_dim) {
        for (i, &(cos, sin)) in angles.iter().enumerate() {
            let (a, b) = (head[2 * i], head[2 * i + 1]);
            head[2 * i] = a * cos - b * sin;
            head[2 * i + 1] = a * sin + b * cos;
        }
    }
}

pub(super) use crate::vmath::silu_mul;

pub(super) fn add_assign(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Softmax in place, max-subtracted.
pub(super) fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}
