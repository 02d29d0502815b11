//! The operation each route serves, carried on the route itself.
//!
//! Register handlers with [`get`], [`post`], [`put`] and [`delete`] instead of axum's
//! functions of the same names: each tags its responses with an [`Operation`], which the
//! metrics and log layer ([`crate::telemetry::track`]) reads back, so the name is written once,
//! beside the route. Methods on one path combine with [`MethodRouter::merge`].
//!
//! ```ignore
//! Router::new().route(
//!     "/guardrails",
//!     operation::post("CreateGuardrail", create).merge(operation::get("ListGuardrails", list)),
//! )
//! ```

use axum::handler::Handler;
use axum::response::Response;
use axum::routing::{self, MethodRouter};

/// The name of the operation that answered a request (`CreateGuardrail`, `Converse`, …), in
/// the response's extensions. A response without one came from no operation (an unknown path
/// or method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation(pub(crate) &'static str);

/// What the metrics record for a request no operation answered.
pub(crate) const UNKNOWN: &str = "UnknownOperation";

/// Authorizes the caller for operation `name` ([`crate::auth::authorize`]) and tags every
/// response of `router`'s methods with it, refusals included. Route layers, so the method
/// router's own fallback (405 for a method the path does not serve) stays untagged.
fn named<S>(name: &'static str, router: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .route_layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                crate::auth::authorize(name, request, next)
            },
        ))
        .route_layer(axum::middleware::map_response(
            move |mut response: Response| async move {
                response.extensions_mut().insert(Operation(name));
                response
            },
        ))
}

/// `GET` served by `handler` as operation `name`.
pub(crate) fn get<H, T, S>(name: &'static str, handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    named(name, routing::get(handler))
}

/// `POST` served by `handler` as operation `name`.
pub(crate) fn post<H, T, S>(name: &'static str, handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    named(name, routing::post(handler))
}

/// `PUT` served by `handler` as operation `name`.
pub(crate) fn put<H, T, S>(name: &'static str, handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    named(name, routing::put(handler))
}

/// `DELETE` served by `handler` as operation `name`.
pub(crate) fn delete<H, T, S>(name: &'static str, handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    named(name, routing::delete(handler))
}
