//! Chat templates: the Jinja template a model ships (GGUF `tokenizer.chat_template`), rendered
//! with minijinja the way Hugging Face's `apply_chat_template` does.

use minijinja::{Environment, ErrorKind, Value, context};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// One chat turn. `content` is plain text; extra fields (tool calls, names) pass through to the
/// template untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            extra: serde_json::Map::new(),
        }
    }
}

#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

const TEMPLATE_NAME: &str = "chat";

impl ChatTemplate {
    /// Compiles `source`; `bos_token`/`eos_token` are exposed to it as HF does.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        let mut env = Environment::new();
        // HF templates rely on Python whitespace semantics of Jinja2 defaults.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Templates written for Jinja2 call Python string/dict methods (`.strip()`,
        // `.startswith()`, `.items()`).
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<Value, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned(TEMPLATE_NAME, source.to_owned())
            .map_err(|e| ModelError::ChatTemplate(e.to_string()))?;
        Ok(Self {
            env,
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
        })
    }

    /// The template stored in a GGUF file, with its BOS/EOS token strings.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let source = gguf.get_str("tokenizer.chat_template")?;
        let tokens = gguf.get_array("tokenizer.ggml.tokens")?;
        let token = |key: &str| {
            gguf.get(key)
                .and_then(|v| v.as_u64())
                .and_then(|id| tokens.get(id as usize))
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_owned()
        };
        Self::new(
            source,
            &token("tokenizer.ggml.bos_token_id"),
            &token("tokenizer.ggml.eos_token_id"),
        )
    }

    /// Renders a conversation. `tools` (JSON schemas) is passed through for templates that
    /// describe tools in the prompt.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        tools: Option<&serde_json::Value>,
    ) -> Result<String> {
        let tmpl = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| ModelError::ChatTemplate(e.to_string()))?;
        tmpl.render(context! {
            messages => messages,
            add_generation_prompt => add_generation_prompt,
            tools => tools,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        })
        .map_err(|e| ModelError::ChatTemplate(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_raises() {
        let t = ChatTemplate::new(
            "{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}\
             {% if add_generation_prompt %}<assistant>{% endif %}",
            "<s>",
            "</s>",
        )
        .unwrap();
        let out = t
            .render(&[ChatMessage::new("user", "hi")], true, None)
            .unwrap();
        assert_eq!(out, "<user>hi</s><assistant>");
        let t = ChatTemplate::new(
            "{% for m in messages %}{{ m.content.strip().upper() }}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let out = t
            .render(&[ChatMessage::new("user", "  hi ")], false, None)
            .unwrap();
        assert_eq!(out, "HI");
        let t = ChatTemplate::new("{{ raise_exception('nope') }}", "", "").unwrap();
        assert!(
            t.render(&[], false, None)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }
}
