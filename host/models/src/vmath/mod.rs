//! Elementwise math written branch-free so the compiler vectorises it over slices: `std`'s
//! `exp` is a libm call per element, which would dominate GELU and softmax next to the GEMM.

mod wide;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without a rounding
/// instruction the baseline x86-64 target lacks.
const ROUND: f32 = 12_582_912.0;
/// 2^23 + 127: see `exp`.
const EXP_BIAS: f32 = 8_388_735.0;

/// `e^x` to about 2 ulp over the normal range; underflows to 0 below -87.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Taylor series of e^r on |r| <= ln2/2: truncation error r^8/8! < 1e-8.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    // 2^n: with 2^23 + 127 added, the low mantissa bits hold n + 127 (in 1..=215 here), which
    // the shift moves into the exponent; bit operations vectorise where a float-to-int
    // conversion (saturating in Rust) does not vectorise as well.
    p * f32::from_bits((n + EXP_BIAS).to_bits() << 23)
}

/// The exact (erf) GELU BERT uses: `x/2 * (1 + erf(x/√2))`, erf by Abramowitz & Stegun 7.1.26
/// (absolute error < 1.5e-7).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf_abs = 1.0 - poly * exp(-z * z);
    let erf = erf_abs.copysign(x);
    0.5 * x * (1.0 + erf)
}

/// `x = gelu(x + bias)` (either step optional; `bias` empty for none) over `rows` rows of
/// `bias.len()` floats at stride `ld` (a tile of a GEMM's output), in the widest vectors the
/// CPU has.
pub fn bias_gelu(xs: &mut [f32], ld: usize, rows: usize, bias: &[f32], gelu: bool) {
    wide::bias_gelu(xs, ld, rows, bias, gelu);
}

/// The portable body of `bias_gelu`; `wide` compiles it again for wider vector units.
#[inline(always)]
fn bias_gelu_body(xs: &mut [f32], ld: usize, rows: usize, bias: &[f32], with_gelu: bool) {
    let cols = if bias.is_empty() {
        xs.len().min(ld)
    } else {
        bias.len()
    };
    for r in 0..rows {
        let row = &mut xs[r * ld..r * ld + cols];
        if !bias.is_empty() {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        if with_gelu {
            for v in row.iter_mut() {
                *v = gelu(*v);
            }
        }
    }
}

/// SwiGLU's `silu(gate) * up`, elementwise, into `gate`.
pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
    assert_eq!(gate.len(), up.len());
    wide::silu_mul(gate, up);
}

#[inline(always)]
fn silu_mul_body(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}

/// `x[i] = e^(scale * (x[i] - max))`, normalised to sum 1.
pub fn softmax_scaled(xs: &mut [f32], scale: f32) {
    wide::softmax_scaled(xs, scale);
}

#[inline(always)]
fn softmax_scaled_body(xs: &mut [f32], scale: f32) {
    let max = lane_max(xs);
    // Separate passes: the exponentials vectorise, a running sum in the same loop would not.
    for v in xs.iter_mut() {
        *v = exp(scale * (*v - max));
    }
    let inv = 1.0 / lane_sum(xs);
    for v in xs.iter_mut() {
        *v *= inv;
    }
}

/// The maximum, in 16 independent lanes (a plain fold is one dependent compare per element).
#[inline(always)]
fn lane_max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter()
        .chain(chunks.remainder())
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// A sum in 16 independent lanes (the compiler keeps f32 additions in order otherwise, one
/// at a time).
#[inline(always)]
fn lane_sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// LayerNorm of every `gamma.len()`-wide row, in place (two passes over the row: the mean
/// first, so the variance does not lose precision to cancellation).
pub fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    wide::layer_norm_rows(x, gamma, beta, eps);
}

#[inline(always)]
fn layer_norm_rows_body(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let d = gamma.len();
    for row in x.chunks_exact_mut(d) {
        let mean = lane_sum(row) / d as f32;
        let mut sq = [0.0f32; 16];
        let mut chunks = row.chunks_exact(16);
        for c in &mut chunks {
            for (a, v) in sq.iter_mut().zip(c) {
                *a += (v - mean) * (v - mean);
            }
        }
        let tail: f32 = chunks
            .remainder()
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum();
        let var = (sq.iter().sum::<f32>() + tail) / d as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_std() {
        for i in -8700..=8800 {
            let x = i as f32 * 0.01;
            let (got, want) = (exp(x), x.exp());
            assert!(
                (got - want).abs() <= 4.0 * f32::EPSILON * want,
                "{x}: {got} vs {want}"
            );
        }
        assert_eq!(exp(-1000.0), exp(-87.0));
    }

    #[test]
    fn gelu_matches_erf_definition() {
        // erf by its Taylor series in f64 (converges fast for |z| < 3, where GELU is not flat).
        fn erf(z: f64) -> f64 {
            let mut term = z;
            let mut sum = z;
            for n in 1..80 {
                term *= -z * z / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        }
        for i in -400..=400 {
            let x = i as f32 * 0.01;
            let want = 0.5 * f64::from(x) * (1.0 + erf(f64::from(x) / 2f64.sqrt()));
            assert!((f64::from(gelu(x)) - want).abs() < 1e-6, "{x}");
        }
        assert_eq!(gelu(50.0), 50.0);
        assert_eq!(gelu(-50.0), 0.0);
    }

    #[test]
    fn softmax_and_layer_norm_match_plain_formulas() {
        let xs: Vec<f32> = (0..45)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) * 0.7)
            .collect();
        let mut got = xs.clone();
        softmax_scaled(&mut got, 0.5);
        let total: f64 = xs.iter().map(|&v| (0.5 * f64::from(v)).exp()).sum();
        for (g, &v) in got.iter().zip(&xs) {
            let want = (0.5 * f64::from(v)).exp() / total;
            assert!((f64::from(*g) - want).abs() < 1e-6);
        }
        let gamma: Vec<f32> = (0..45).map(|i| 1.0 + i as f32 * 0.01).collect();
        let beta: Vec<f32> = (0..45).map(|i| i as f32 * -0.02).collect();
        let mut got = xs.clone();
        layer_norm_rows(&mut got, &gamma, &beta, 1e-12);
        let mean = xs.iter().sum::<f32>() / 45.0;
        let var = xs.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 45.0;
        for (i, g) in got.iter().enumerate() {
            let want = (xs[i] - mean) / var.sqrt() * gamma[i] + beta[i];
            assert!((g - want).abs() < 1e-5, "{g} vs {want}");
        }
    }

    #[test]
    fn silu_mul_matches_std() {
        let g: Vec<f32> = (0..99).map(|i| (i as f32 - 50.0) * 0.9).collect();
        let u: Vec<f32> = (0..99).map(|i| 1.0 + i as f32 * 0.01).collect();
        let mut got = g.clone();
        silu_mul(&mut got, &u);
        for ((got, g), u) in got.iter().zip(&g).zip(&u) {
            let want = g / (1.0 + (-g).exp()) * u;
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn wide_bias_gelu_matches_scalar() {
        let xs: Vec<f32> = (0..67).map(|i| (i as f32 - 30.0) * 0.17).collect();
        let bias: Vec<f32> = (0..67).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut got = xs.clone();
        bias_gelu(&mut got, 67, 1, &bias, true);
        for ((g, x), b) in got.iter().zip(&xs).zip(&bias) {
            assert!((g - gelu(x + b)).abs() <= 1e-6, "{g} vs {}", gelu(x + b));
        }
    }
}
