//! `knowledge = true`: retrieval from the host's knowledge bases.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, InstanceContext, is_mantle_interface};
use crate::bindings::latest::host::mantle::plugin::knowledge as latest;
use crate::bindings::since_v0_1_0::host::mantle::plugin::knowledge as v1;
use crate::bindings::{PluginError, WitVersion};
use crate::host_state::HostState;
use crate::services::KnowledgeService;

pub(crate) struct Knowledge;

pub(crate) struct KnowledgeState {
    service: Option<Arc<dyn KnowledgeService>>,
}

impl Capability for Knowledge {
    const NAME: &'static str = "knowledge";
    type Grant = bool;
    type State = KnowledgeState;

    fn granted(grant: &bool) -> bool {
        *grant
    }

    fn provides(import: &str) -> bool {
        is_mantle_interface(import, "knowledge")
    }

    fn link(linker: &mut Linker<HostState>, wit: WitVersion) -> wasmtime::Result<()> {
        match wit {
            WitVersion::V0_1_0 => v1::add_to_linker::<_, HasSelf<KnowledgeState>>(linker, |s| {
                &mut s.caps.knowledge
            }),
            WitVersion::V0_2_0 => latest::add_to_linker::<_, HasSelf<KnowledgeState>>(
                linker,
                |s| &mut s.caps.knowledge,
            ),
        }
    }

    fn state(_: &bool, context: &InstanceContext<'_>) -> KnowledgeState {
        KnowledgeState {
            service: context.services.knowledge.clone(),
        }
    }
}

impl latest::Host for KnowledgeState {
    async fn retrieve(
        &mut self,
        knowledge_base_id: String,
        query: String,
        max_results: u32,
    ) -> Result<Vec<latest::Retrieved>, PluginError> {
        let service = self
            .service
            .as_ref()
            .ok_or_else(|| super::unavailable("knowledge"))?;
        let results = service
            .retrieve(&knowledge_base_id, &query, max_results)
            .await
            .map_err(super::host_error)?;
        Ok(results
            .into_iter()
            .map(|r| latest::Retrieved {
                text: r.text,
                score: r.score,
                location: r.location,
                metadata: r.metadata,
            })
            .collect())
    }
}

impl v1::Host for KnowledgeState {
    async fn retrieve(
        &mut self,
        knowledge_base_id: String,
        query: String,
        max_results: u32,
    ) -> Result<Vec<v1::Retrieved>, PluginError> {
        let results = latest::Host::retrieve(self, knowledge_base_id, query, max_results).await?;
        Ok(results.into_iter().map(Into::into).collect())
    }
}
