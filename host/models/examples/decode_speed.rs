//! Prefill and decode throughput of the default generation model.
//!
//! `cargo run -p mantle-models --release --example decode_speed [-- <gguf> <new tokens> <prompt repeats>]`
//!
//! `RAYON_NUM_THREADS` sets the threads. On a machine shared with a build, wall-clock tok/s
//! mostly measures the neighbour; the CPU ms/token line does not. To measure anyway, run it in
//! its own scheduler group at high priority (as root):
//! `setsid -w sh -c 'echo -20 > /proc/self/autogroup; exec nice -n -20 <binary>'`.

use std::time::Instant;

use mantle_models::{LlamaModel, Sampler, model_dir};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().map_or_else(model_dir::smollm2_path, Into::into);
    let n_new: usize = args.next().map_or(Ok(128), |a| a.parse())?;
    let t = Instant::now();
    let model = LlamaModel::load(&path)?;
    println!(
        "loaded {} in {:.2?} ({:?})",
        path.display(),
        t.elapsed(),
        model.weight_types()
    );
    // Optional third argument: repeat the prompt to time long prefills.
    let repeat: usize = args.next().map_or(Ok(1), |a| a.parse())?;
    let prompt = model.tokenizer().encode(
        &"Once upon a time, in a small village at the edge of a great forest,".repeat(repeat),
    )?;
    let mut sampler = Sampler::greedy();
    // Warm-up prefill: thread start-up and first touches are not what we measure.
    model.forward(&prompt, &mut model.new_cache())?;
    let mut cache = model.new_cache();
    let t = Instant::now();
    let mut logits = model.forward(&prompt, &mut cache)?;
    let prefill = t.elapsed();
    // Warm-up token so page faults and thread start-up are not counted.
    let mut next = sampler.sample(&logits);
    logits = model.forward(&[next], &mut cache)?;
    let (t, cpu) = (Instant::now(), cpu_seconds());
    for _ in 0..n_new {
        next = sampler.sample(&logits);
        logits = model.forward(&[next], &mut cache)?;
    }
    let decode = t.elapsed();
    let cpu = cpu_seconds().map(|end| end - cpu.unwrap_or(end));
    println!(
        "prefill {} tokens: {:.1} tok/s; decode {n_new} tokens: {:.1} tok/s ({} threads)",
        prompt.len(),
        prompt.len() as f64 / prefill.as_secs_f64(),
        n_new as f64 / decode.as_secs_f64(),
        rayon::current_num_threads()
    );
    // On a shared machine wall time depends on the neighbours; CPU time per token does not.
    if let Some(cpu) = cpu {
        println!(
            "decode CPU time {:.2} ms/token (all threads); {:.0}% of {} threads busy",
            cpu * 1e3 / n_new as f64,
            cpu / decode.as_secs_f64() / rayon::current_num_threads() as f64 * 100.0,
            rayon::current_num_threads()
        );
    }
    Ok(())
}

/// User + system CPU seconds of this process (Linux only).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
