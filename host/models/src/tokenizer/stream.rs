/// Turns generated token ids into text deltas as they arrive.
///
/// Byte-level BPE can split one character over several tokens, and decoding a lone token can
/// differ from decoding it in context (spaces, merges), so each step decodes a short window
/// and emits only text that is complete (no trailing U+FFFD) — the approach of Hugging Face's
/// text-generation-inference.
#[derive(Debug, Clone, Default)]
pub struct TextStream {
    ids: Vec<u32>,
    prefix_offset: usize,
    read_offset: usize,
    skip_special_tokens: bool,
}

impl TextStream {
    pub fn new(skip_special_tokens: bool) -> Self {
        Self {
            skip_special_tokens,
            ..Self::default()
        }
    }

    /// Adds a token; returns the text it completes, if any.
    pub fn push(&mut self, tokenizer: &super::Tokenizer, id: u32) -> crate::Result<Option<String>> {
        self.ids.push(id);
        let skip = self.skip_special_tokens;
        let prefix = tokenizer.decode(&self.ids[self.prefix_offset..self.read_offset], skip)?;
        let full = tokenizer.decode(&self.ids[self.prefix_offset..], skip)?;
        if full.len() > prefix.len()
            && !full.ends_with('\u{FFFD}')
            && full.is_char_boundary(prefix.len())
        {
            let delta = full[prefix.len()..].to_owned();
            self.prefix_offset = self.read_offset;
            self.read_offset = self.ids.len();
            Ok(Some(delta))
        } else {
            Ok(None)
        }
    }

    /// All ids pushed so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }
}
