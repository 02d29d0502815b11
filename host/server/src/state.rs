//! What every handler shares.

use std::sync::Arc;

use mantle_plugins::Registry;
use mantle_store::Store;

use crate::guardrails::Guardrails;
use crate::settings::Settings;
use mantle_inference::Catalog;

/// The application: its store, its plugins, its models, and the domain services built on them.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub registry: Arc<Registry>,
    pub guardrails: Guardrails,
    pub models: Arc<Catalog>,
}
