//! Next-token selection: greedy, or temperature / top-k / top-p sampling with a seedable RNG.

/// Sampling settings; `temperature <= 0` means greedy.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub temperature: f32,
    /// 1.0 disables nucleus filtering.
    pub top_p: f32,
    /// 0 disables top-k filtering.
    pub top_k: usize,
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: None,
        }
    }
}

impl SamplingParams {
    pub fn greedy() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    state: u64,
}

/// Index of the largest logit (the first on ties, as `torch.argmax`).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        let seed = params.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
        });
        Self {
            params,
            state: seed,
        }
    }

    pub fn greedy() -> Self {
        Self::new(SamplingParams::greedy())
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// SplitMix64: tiny, well-distributed, and reproducible across platforms for a seed.
    fn next_f32(&mut self) -> f32 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let p = &self.params;
        if logits.is_empty() {
            return 0;
        }
        if p.temperature <= 0.0 || p.top_k == 1 {
            return argmax(logits);
        }
        let inv_t = 1.0 / p.temperature;
        let cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l * inv_t))
            .collect();
        self.draw(cand)
    }

    /// Like [`Sampler::sample`], over `ids` only (the tokens a grammar allows). `None` if
    /// `ids` is empty.
    pub fn sample_among(&mut self, logits: &[f32], ids: &[u32]) -> Option<u32> {
        let p = &self.params;
        if p.temperature <= 0.0 || p.top_k == 1 {
            // The lowest id wins ties, as `argmax` does.
            return ids.iter().copied().reduce(|best, id| {
                let (a, b) = (logits[best as usize], logits[id as usize]);
                if b > a || (b == a && id < best) {
                    id
                } else {
                    best
                }
            });
        }
        if ids.is_empty() {
            return None;
        }
        let inv_t = 1.0 / p.temperature;
        let cand = ids
            .iter()
            .map(|&id| (id, logits[id as usize] * inv_t))
            .collect();
        Some(self.draw(cand))
    }

    /// Draws from temperature-scaled candidates under top-k and top-p.
    fn draw(&mut self, mut cand: Vec<(u32, f32)>) -> u32 {
        let p = &self.params;
        let by_logit_desc = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1);
        // Sorting all ~50k logits per token would cost about as much as a decode step; only
        // the head of the distribution is ever ordered.
        if p.top_k > 0 && p.top_k < cand.len() {
            cand.select_nth_unstable_by(p.top_k - 1, by_logit_desc);
            cand.truncate(p.top_k);
        }
        let max = cand.iter().map(|c| c.1).fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0f32;
        for c in &mut cand {
            c.1 = (c.1 - max).exp();
            total += c.1;
        }
        if p.top_p < 1.0 {
            cand = nucleus(cand, total, p.top_p);
            total = cand.iter().map(|c| c.1).sum();
        }
        let mut r = self.next_f32() * total;
        for &(id, w) in &cand {
            if r < w {
                return id;
            }
            r -= w;
        }
        cand.last().map_or(0, |c| c.0)
    }
}

/// The smallest set of most likely candidates whose mass reaches `top_p` of `total`.
fn nucleus(mut cand: Vec<(u32, f32)>, total: f32, top_p: f32) -> Vec<(u32, f32)> {
    let by_weight_desc = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1);
    let target = top_p * total;
    // Usually a few hundred candidates hold the nucleus: order just those, widen if not.
    let mut head = 256.min(cand.len());
    loop {
        if head < cand.len() {
            cand.select_nth_unstable_by(head - 1, by_weight_desc);
        }
        cand[..head].sort_unstable_by(by_weight_desc);
        let mut acc = 0.0;
        for (i, c) in cand[..head].iter().enumerate() {
            acc += c.1;
            if acc >= target {
                cand.truncate(i + 1);
                return cand;
            }
        }
        if head == cand.len() {
            return cand;
        }
        head = (head * 8).min(cand.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_seeded_sampling() {
        let logits = [0.1, 3.0, 2.9, -1.0];
        assert_eq!(Sampler::greedy().sample(&logits), 1);
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 0.9,
            top_k: 3,
            seed: Some(42),
        };
        let a: Vec<u32> = {
            let mut s = Sampler::new(params.clone());
            (0..50).map(|_| s.sample(&logits)).collect()
        };
        let b: Vec<u32> = {
            let mut s = Sampler::new(params);
            (0..50).map(|_| s.sample(&logits)).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().all(|&t| t == 1 || t == 2));
        assert!(a.contains(&1) && a.contains(&2));
    }

    #[test]
    fn unfiltered_sampling_follows_softmax() {
        // p = softmax([ln 1, ln 3]) = [0.25, 0.75].
        let logits = [1.0f32.ln(), 3.0f32.ln()];
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            seed: Some(7),
            ..SamplingParams::default()
        });
        let ones = (0..4000).filter(|_| s.sample(&logits) == 1).count();
        assert!((2800..3200).contains(&ones), "{ones}");
    }

    #[test]
    fn nucleus_keeps_the_smallest_head() {
        // Weights 0.5, 0.3, 0.2 (+ a long tail of zeros): top_p 0.7 keeps two.
        let mut cand: Vec<(u32, f32)> = (0..1000).map(|i| (i, 0.0)).collect();
        cand[500].1 = 0.3;
        cand[7].1 = 0.5;
        cand[900].1 = 0.2;
        let kept = nucleus(cand, 1.0, 0.7);
        assert_eq!(kept.iter().map(|c| c.0).collect::<Vec<_>>(), [7, 500]);
    }
}
