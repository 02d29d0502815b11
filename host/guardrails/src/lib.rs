//! # mantle-guardrails
//!
//! Bedrock Guardrails as a Rust service: the control plane (create, get, list, update, delete,
//! versions), Mantle's custom policies, and ApplyGuardrail, where every policy is a
//! WebAssembly plugin run by the [`mantle_plugins::Registry`].
//!
//! No HTTP here: operations take typed inputs ([`GuardrailInput`], [`ApplyInput`], …), answer
//! typed outputs ([`GuardrailDetail`], [`ApplyOutcome`], …) and fail with a
//! [`GuardrailError`]. The outputs serialize as Bedrock's response shapes; `mantle-server`
//! routes HTTP to them and maps the errors to the AWS error contract. Other services
//! (guarded Converse, agents, flows) call [`Guardrails::apply`] directly and read its
//! [`Verdict`].
//!
//! ```no_run
//! # async fn example(guardrails: mantle_guardrails::Guardrails, id: mantle_guardrails::GuardrailId)
//! # -> Result<(), mantle_guardrails::GuardrailError> {
//! use mantle_guardrails::{ApplyInput, ContentSource, GuardrailVersion, Verdict};
//! let input = ApplyInput::texts(ContentSource::Output, ["The answer is 42.".to_owned()]);
//! match guardrails.apply(&id, GuardrailVersion::Draft, &input).await?.verdict {
//!     Verdict::Pass => println!("send it"),
//!     Verdict::Masked(texts) => println!("send {texts:?} instead"),
//!     Verdict::Blocked(message) => println!("send the blocked message: {message}"),
//! }
//! # Ok(()) }
//! ```

pub mod apply;
pub mod config;
mod error;
mod ids;
mod input;
mod output;
mod record;
mod service;

pub use apply::{
    ApplyInput, ApplyOutcome, ContentSource, GuardrailAssessment, OutputScope, Verdict,
};
pub use error::GuardrailError;
pub use ids::{GuardrailId, GuardrailVersion};
pub use input::{CreateVersionInput, GuardrailInput, ListInput};
pub use output::{
    ContentPolicy, ContextualGroundingPolicy, CreatedGuardrail, CreatedVersion, CustomPoliciesSet,
    GuardrailDetail, GuardrailPage, GuardrailStatus, GuardrailSummary, SensitiveInformationPolicy,
    TopicPolicy, UpdatedGuardrail, WordPolicy,
};
pub use record::CustomPolicy;
pub use service::{
    ArnScope, BUILTIN_CONTENT_FILTER, BUILTIN_CONTEXTUAL_GROUNDING, BUILTIN_DENIED_TOPICS,
    BUILTIN_SENSITIVE_INFORMATION, BUILTIN_WORD_FILTER, Guardrails, MAX_CUSTOM_POLICIES,
};
