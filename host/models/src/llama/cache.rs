use super::LlamaConfig;

/// Keys and values of one sequence, per layer, rows `[position][kv_head * head_dim]`.
///
/// One cache per sequence: a batch of sequences at different lengths is a slice of caches
/// (see `LlamaModel::forward_batch`), so sequences can join and leave a decode batch freely.
#[derive(Debug, Clone)]
pub struct KvCache {
    pub(super) k: Vec<Vec<f32>>,
    pub(super) v: Vec<Vec<f32>>,
    pub(super) kv_dim: usize,
    len: usize,
}

impl KvCache {
    pub fn new(config: &LlamaConfig) -> Self {
        Self {
            k: vec![Vec::new(); config.n_layers],
            v: vec![Vec::new(); config.n_layers],
            kv_dim: config.kv_dim(),
            len: 0,
        }
    }

    /// Positions held (tokens already processed).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything after the first `len` positions (e.g. to reuse a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        let len = len.min(self.len);
        for layer in self.k.iter_mut().chain(self.v.iter_mut()) {
            layer.truncate(len * self.kv_dim);
        }
        self.len = len;
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Bytes held, for memory accounting.
    pub fn size_bytes(&self) -> usize {
        self.k.iter().chain(&self.v).map(|l| l.len() * 4).sum()
    }

    pub(super) fn advance(&mut self, n: usize) {
        self.len += n;
    }
}
