//! `cargo bench -p mantle-models --bench decode` (add `--profile dev` to reuse the test build,
//! whose model code is optimised too): block kernels at SmolLM2-135M's shapes and
//! one decode step of the real model (needs `cargo xtask setup`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mantle_models::quant::{GgmlType, QuantTensor, matmul};
use mantle_models::{LlamaModel, model_dir};

fn synthetic(ty: GgmlType, cols: usize, rows: usize) -> QuantTensor {
    let scale_bytes = if ty == GgmlType::Q4_1 { 4 } else { 2 };
    let data = (0..ty.bytes_for(cols * rows))
        .map(|i| {
            if i % ty.block_bytes() < scale_bytes {
                [0x66, 0x24][i % 2]
            } else {
                (i * 131 % 251) as u8
            }
        })
        .collect();
    QuantTensor::new("bench", ty, vec![cols, rows], data).unwrap()
}

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("matvec");
    for (name, ty, cols, rows) in [
        ("ffn_up_q4_1", GgmlType::Q4_1, 576, 1536),
        ("ffn_down_q4_1", GgmlType::Q4_1, 1536, 576),
        ("output_q8_0", GgmlType::Q8_0, 576, 49152),
    ] {
        let w = synthetic(ty, cols, rows);
        let x: Vec<f32> = (0..cols).map(|i| (i % 13) as f32 * 0.1 - 0.6).collect();
        g.throughput(Throughput::Bytes(w.data().len() as u64));
        g.bench_function(name, |b| b.iter(|| matmul(&w, black_box(&x), 1)));
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let path = model_dir::smollm2_path();
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask setup`",
        path.display()
    );
    let model = LlamaModel::load(&path).unwrap();
    let prompt = model
        .tokenizer()
        .encode("The capital of France is")
        .unwrap();
    let mut g = c.benchmark_group("smollm2");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_step_at_64", |b| {
        b.iter_batched_ref(
            || {
                let mut cache = model.new_cache();
                model.forward(&prompt, &mut cache).unwrap();
                for _ in prompt.len()..64 {
                    model.forward(&[42], &mut cache).unwrap();
                }
                cache
            },
            |cache| model.forward(&[42], cache).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, kernels, decode);
criterion_main!(benches);
