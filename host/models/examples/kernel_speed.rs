//! Throughput of the block dot kernels, cache-resident and streaming from memory.
//!
//! `cargo run -p mantle-models --release --example kernel_speed`

use std::hint::black_box;
use std::time::Instant;

use mantle_models::quant::{GgmlType, QuantTensor, matmul};

fn tensor(ty: GgmlType, cols: usize, rows: usize) -> QuantTensor {
    let mut data = vec![0u8; ty.bytes_for(cols * rows)];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    // Plausible f16 scales so no NaNs flow through.
    for blk in data.chunks_exact_mut(ty.block_bytes()) {
        let d = half::f16::from_f32(0.01).to_le_bytes();
        match ty {
            GgmlType::Q6K => blk[208..210].copy_from_slice(&d),
            GgmlType::Q4_1 | GgmlType::Q4K => {
                blk[..2].copy_from_slice(&d);
                blk[2..4].copy_from_slice(&half::f16::from_f32(0.02).to_le_bytes());
            }
            _ => blk[..2].copy_from_slice(&d),
        }
    }
    QuantTensor::new("bench", ty, vec![cols, rows], data).unwrap()
}

fn main() {
    for (ty, cols, rows) in [
        (GgmlType::Q4_1, 576, 1536),
        (GgmlType::Q4_1, 576, 1536 * 64),
        // Larger than L3: the decode case, where all weights stream from memory each token.
        (GgmlType::Q4_1, 576, 1536 * 160),
        (GgmlType::Q8_0, 576, 49152),
        (GgmlType::Q4K, 2048, 2048),
        (GgmlType::Q6K, 2048, 2048),
        (GgmlType::Q4_0, 2048, 2048),
    ] {
        let w = tensor(ty, cols, rows);
        let x: Vec<f32> = (0..cols).map(|i| (i % 17) as f32 * 0.1).collect();
        let reps = (600_000_000 / w.data().len()).max(3);
        black_box(matmul(&w, &x, 1));
        let (t, cpu0) = (Instant::now(), cpu_ns());
        for _ in 0..reps {
            black_box(matmul(&w, black_box(&x), 1));
        }
        let s = t.elapsed().as_secs_f64();
        let cpu = (cpu_ns() - cpu0) as f64 / 1e9;
        let bytes = (w.data().len() * reps) as f64;
        println!(
            "{ty:?} {cols}x{rows} ({:.1} MB): {:.2} GB/s wall, {:.2} GB/s per CPU-second, {:.2} Gelem per CPU-second",
            w.data().len() as f64 / 1e6,
            bytes / s / 1e9,
            bytes / cpu / 1e9,
            (cols * rows * reps) as f64 / cpu / 1e9
        );
    }
}

/// Nanoseconds all threads of this process have run (Linux schedstat), so a busy neighbour
/// does not skew the per-CPU figures.
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}
