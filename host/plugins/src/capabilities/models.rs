//! `models = true`: the host's embedding and text models, metered per plugin
//! (`mantle_plugin_model_calls_total` and `mantle_plugin_model_tokens_total`, by plugin).

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, InstanceContext, is_mantle_interface};
use crate::bindings::latest::host::mantle::plugin::models as latest;
use crate::bindings::since_v0_1_0::host::mantle::plugin::models as v1;
use crate::bindings::{PluginError, WitVersion, convert};
use crate::host_state::HostState;
use crate::services::{GenerationParams, ModelsService};

pub(crate) struct Models;

pub(crate) struct ModelsState {
    plugin_id: Arc<str>,
    service: Option<Arc<dyn ModelsService>>,
}

impl Capability for Models {
    const NAME: &'static str = "models";
    type Grant = bool;
    type State = ModelsState;

    fn granted(grant: &bool) -> bool {
        *grant
    }

    fn provides(import: &str) -> bool {
        is_mantle_interface(import, "models")
    }

    fn link(linker: &mut Linker<HostState>, wit: WitVersion) -> wasmtime::Result<()> {
        match wit {
            WitVersion::V0_1_0 => {
                v1::add_to_linker::<_, HasSelf<ModelsState>>(linker, |s| &mut s.caps.models)
            }
            WitVersion::V0_2_0 => {
                latest::add_to_linker::<_, HasSelf<ModelsState>>(linker, |s| &mut s.caps.models)
            }
        }
    }

    fn state(_: &bool, context: &InstanceContext<'_>) -> ModelsState {
        ModelsState {
            plugin_id: context.id.clone(),
            service: context.services.models.clone(),
        }
    }
}

impl ModelsState {
    fn service(&self, op: &'static str) -> Result<Arc<dyn ModelsService>, PluginError> {
        metrics::counter!("mantle_plugin_model_calls_total", "plugin" => self.plugin_id.to_string(), "op" => op)
            .increment(1);
        self.service
            .clone()
            .ok_or_else(|| super::unavailable("models"))
    }

    fn tokens(&self, kind: &'static str, count: u64) {
        metrics::counter!("mantle_plugin_model_tokens_total", "plugin" => self.plugin_id.to_string(), "kind" => kind)
            .increment(count);
    }
}

impl latest::Host for ModelsState {
    async fn embed(
        &mut self,
        model_id: String,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, PluginError> {
        let service = self.service("embed")?;
        service
            .embed(&model_id, texts)
            .await
            .map_err(super::host_error)
    }

    async fn generate(
        &mut self,
        model_id: String,
        prompt: Vec<latest::ChatMessage>,
        params: latest::GenerationParams,
    ) -> Result<latest::Generation, PluginError> {
        let service = self.service("generate")?;
        let messages = prompt.into_iter().map(|m| (m.role, m.text)).collect();
        let params = GenerationParams {
            max_tokens: params.max_tokens,
            temperature: params.temperature,
            top_p: params.top_p,
            stop_sequences: params.stop_sequences,
        };
        let generation = service
            .generate(&model_id, messages, params)
            .await
            .map_err(super::host_error)?;
        self.tokens("input", u64::from(generation.input_tokens));
        self.tokens("output", u64::from(generation.output_tokens));
        Ok(latest::Generation {
            text: generation.text,
            stop_reason: generation.stop_reason,
            input_tokens: generation.input_tokens,
            output_tokens: generation.output_tokens,
        })
    }

    async fn count_tokens(&mut self, model_id: String, text: String) -> Result<u32, PluginError> {
        let service = self.service("count_tokens")?;
        service
            .count_tokens(&model_id, &text)
            .map_err(super::host_error)
    }
}

/// 0.1.0 had `embed` and `converse`; `converse` is `generate` with two of its parameters.
impl v1::Host for ModelsState {
    async fn embed(
        &mut self,
        model_id: String,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, PluginError> {
        latest::Host::embed(self, model_id, texts).await
    }

    async fn converse(
        &mut self,
        model_id: String,
        messages: Vec<v1::ChatMessage>,
        max_tokens: u32,
        temperature: f32,
    ) -> Result<v1::Generation, PluginError> {
        let messages = messages.into_iter().map(Into::into).collect();
        let params = convert::generation_params(max_tokens, temperature);
        latest::Host::generate(self, model_id, messages, params)
            .await
            .map(Into::into)
    }
}
