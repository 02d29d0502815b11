//! What every handler shares, and the narrow parts a handler may take instead
//! (`State<Guardrails>`, `State<Arc<Registry>>`, …) through `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;
use mantle_flows::{Flows, Prompts};
use mantle_guardrails::Guardrails;
use mantle_inference::Catalog;
use mantle_knowledge::Knowledge;
use mantle_plugins::Registry;
use mantle_store::Store;

use crate::auth::Auth;
use crate::settings::Settings;

/// The application: its store, its plugins, its models, and the domain services built on them.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub registry: Arc<Registry>,
    pub guardrails: Guardrails,
    pub knowledge: Knowledge,
    pub prompts: Prompts,
    pub flows: Flows,
    pub models: Arc<Catalog>,
    pub auth: Auth,
}

/// `FromRef` for each part, as axum's `#[derive(FromRef)]` writes them (without pulling in
/// axum's macros crate for a few one-line impls).
macro_rules! parts {
    ($($field:ident: $ty:ty),+ $(,)?) => {
        $(impl FromRef<AppState> for $ty {
            fn from_ref(app: &AppState) -> Self {
                app.$field.clone()
            }
        })+
    };
}

parts! {
    settings: Arc<Settings>,
    store: Store,
    registry: Arc<Registry>,
    guardrails: Guardrails,
    knowledge: Knowledge,
    prompts: Prompts,
    flows: Flows,
    models: Arc<Catalog>,
    auth: Auth,
}

impl FromRef<AppState> for mantle_access::Access {
    fn from_ref(app: &AppState) -> Self {
        app.auth.access.clone()
    }
}
