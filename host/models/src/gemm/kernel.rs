//! Register-blocked micro-kernels: an `MR x NR` tile of C accumulated over `kc` steps of
//! `a[i][p] * b[p][j]`, with B packed `NR` floats per step. One kernel per instruction set,
//! chosen once at run time; each entry point checks bounds with safe code before calling the
//! `unsafe` SIMD body.

#![allow(unsafe_code)]

use std::sync::OnceLock;

use super::NR;

/// The kernel family this CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512F: 8 rows x 2 zmm, 16 accumulators of the 32 registers.
    Avx512,
    /// AVX2 + FMA: 3 rows x 4 ymm, 12 accumulators of the 16 registers.
    Avx2,
    /// Portable loops (other CPUs, and a check for the SIMD kernels in tests).
    Scalar,
}

impl Isa {
    pub(crate) fn detect() -> Self {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx512f") {
                    return Isa::Avx512;
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    return Isa::Avx2;
                }
            }
            Isa::Scalar
        })
    }

    /// Every kernel this CPU can run (tests compare each against a naive product).
    #[cfg(test)]
    pub(crate) fn all_available() -> Vec<Self> {
        let mut v = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
        }
        v
    }

    /// Rows of C per tile.
    pub(crate) fn mr(self) -> usize {
        match self {
            Isa::Avx512 => 8,
            Isa::Avx2 => 3,
            Isa::Scalar => 4,
        }
    }

    /// `c[i * ldc + j] (+)= sum_p a[i][p] * b[p * NR + j]` for `i < mr()`, `j < NR`, `p < kc`;
    /// overwrites C unless `accumulate`.
    pub(crate) fn tile(
        self,
        kc: usize,
        a: &[&[f32]],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        accumulate: bool,
    ) {
        let mr = self.mr();
        assert!(a.len() == mr && a.iter().all(|r| r.len() >= kc));
        assert!(b.len() >= kc * NR && ldc >= NR && c.len() >= (mr - 1) * ldc + NR);
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                let ap: [*const f32; 8] = std::array::from_fn(|i| a[i].as_ptr());
                // SAFETY: `detect`/`all_available` saw AVX-512F before this variant exists, and
                // the asserts above bound every read of A and B and every write of C.
                unsafe { x86::avx512(kc, ap, b.as_ptr(), c.as_mut_ptr(), ldc, accumulate) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                let ap: [*const f32; 3] = std::array::from_fn(|i| a[i].as_ptr());
                // SAFETY: as for AVX-512, with AVX2 and FMA detected.
                unsafe { x86::avx2(kc, ap, b.as_ptr(), c.as_mut_ptr(), ldc, accumulate) }
            }
            _ => scalar(kc, a, b, c, ldc, accumulate),
        }
    }
}

fn scalar(kc: usize, a: &[&[f32]], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
    const MR: usize = 4;
    let mut acc = [[0.0f32; NR]; MR];
    for p in 0..kc {
        let bp = &b[p * NR..(p + 1) * NR];
        for (i, row) in acc.iter_mut().enumerate() {
            let av = a[i][p];
            for (cv, bv) in row.iter_mut().zip(bp) {
                *cv += av * bv;
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let out = &mut c[i * ldc..i * ldc + NR];
        for (o, v) in out.iter_mut().zip(row) {
            *o = if accumulate { *o + v } else { *v };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::NR;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(
        kc: usize,
        a: [*const f32; 8],
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        let mut lo = [_mm512_setzero_ps(); 8];
        let mut hi = [_mm512_setzero_ps(); 8];
        for p in 0..kc {
            // SAFETY: the caller bounds `kc` floats per row of A and `kc * NR` floats of B.
            unsafe {
                let b0 = _mm512_loadu_ps(b.add(p * NR));
                let b1 = _mm512_loadu_ps(b.add(p * NR + 16));
                for i in 0..8 {
                    let av = _mm512_set1_ps(*a[i].add(p));
                    lo[i] = _mm512_fmadd_ps(av, b0, lo[i]);
                    hi[i] = _mm512_fmadd_ps(av, b1, hi[i]);
                }
            }
        }
        for i in 0..8 {
            // SAFETY: the caller bounds rows `0..8` of C at stride `ldc`, `NR` floats each.
            unsafe {
                let row = c.add(i * ldc);
                if accumulate {
                    lo[i] = _mm512_add_ps(lo[i], _mm512_loadu_ps(row));
                    hi[i] = _mm512_add_ps(hi[i], _mm512_loadu_ps(row.add(16)));
                }
                _mm512_storeu_ps(row, lo[i]);
                _mm512_storeu_ps(row.add(16), hi[i]);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(
        kc: usize,
        a: [*const f32; 3],
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        let mut acc = [[_mm256_setzero_ps(); 4]; 3];
        // Plain loops only: a closure here is a separate function without this one's target
        // features, so its intrinsics become calls and the accumulators spill (measured: the
        // closure form ran MiniLM ~10x slower).
        for p in 0..kc {
            // SAFETY: the caller bounds `kc` floats per row of A and `kc * NR` floats of B.
            unsafe {
                let a0 = _mm256_set1_ps(*a[0].add(p));
                let a1 = _mm256_set1_ps(*a[1].add(p));
                let a2 = _mm256_set1_ps(*a[2].add(p));
                // One B vector live at a time: 12 accumulators + 3 broadcasts + 1 = 16 ymm.
                #[expect(
                    clippy::needless_range_loop,
                    reason = "`v` picks both a B vector and an accumulator column"
                )]
                for v in 0..4 {
                    let bv = _mm256_loadu_ps(b.add(p * NR + 8 * v));
                    acc[0][v] = _mm256_fmadd_ps(a0, bv, acc[0][v]);
                    acc[1][v] = _mm256_fmadd_ps(a1, bv, acc[1][v]);
                    acc[2][v] = _mm256_fmadd_ps(a2, bv, acc[2][v]);
                }
            }
        }
        for (i, regs) in acc.iter().enumerate() {
            for (v, &r) in regs.iter().enumerate() {
                // SAFETY: the caller bounds rows `0..3` of C at stride `ldc`, `NR` floats each.
                unsafe {
                    let p = c.add(i * ldc + 8 * v);
                    let r = if accumulate {
                        _mm256_add_ps(r, _mm256_loadu_ps(p))
                    } else {
                        r
                    };
                    _mm256_storeu_ps(p, r);
                }
            }
        }
    }
}
