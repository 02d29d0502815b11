//! `[capabilities.http]`: outbound HTTP through the standard `wasi:http/outgoing-handler`, to
//! the listed hosts only, with the listed methods, a timeout and a cap on the response body.
//!
//! ```toml
//! [capabilities.http]
//! allow = ["api.example.com", "127.0.0.1:8089"]   # host (any port) or host:port
//! methods = ["GET"]                               # default: GET, HEAD, POST
//! timeout-ms = 2000                               # connect, first byte, between bytes
//! max-response-kib = 256
//! ```
//!
//! A request elsewhere fails in the guest with `HTTP-request-denied` and never leaves the host.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use serde::{Deserialize, Serialize};
use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use super::{Capability, InstanceContext};
use crate::bindings::WitVersion;
use crate::host_state::HostState;

/// The most a manifest may allow for one response body.
pub const MAX_RESPONSE_KIB: u64 = 64 * 1024;

/// How a manifest grants outbound HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpGrant {
    /// Hosts the plugin may call: `host` for any port, or `host:port`.
    pub allow: Vec<String>,
    /// Methods the plugin may use, upper case.
    #[serde(default = "HttpGrant::default_methods")]
    pub methods: Vec<String>,
    /// Applied to connecting, the first response byte, and each gap between body bytes; the
    /// call's own `timeout-ms` still bounds the whole call.
    #[serde(default = "HttpGrant::default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "HttpGrant::default_max_response_kib")]
    pub max_response_kib: u64,
}

impl HttpGrant {
    fn default_methods() -> Vec<String> {
        ["GET", "HEAD", "POST"].map(str::to_owned).to_vec()
    }
    fn default_timeout_ms() -> u64 {
        5_000
    }
    fn default_max_response_kib() -> u64 {
        1_024
    }

    /// Whether a request to `host` (and `port`) with `method` may go out.
    pub fn permits(&self, method: &str, host: &str, port: u16) -> bool {
        let method_ok = self.methods.iter().any(|m| m.eq_ignore_ascii_case(method));
        let host_ok = self.allow.iter().any(|entry| match entry.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => {
                h.eq_ignore_ascii_case(host) && p.parse() == Ok(port)
            }
            _ => entry.eq_ignore_ascii_case(host),
        });
        method_ok && host_ok
    }
}

pub(crate) struct Http;

pub(crate) struct HttpState {
    ctx: WasiHttpCtx,
    hooks: Hooks,
}

struct Hooks {
    grant: Option<Arc<HttpGrant>>,
    plugin_id: Arc<str>,
}

impl Capability for Http {
    const NAME: &'static str = "http";
    type Grant = Option<HttpGrant>;
    type State = HttpState;

    fn granted(grant: &Option<HttpGrant>) -> bool {
        grant.is_some()
    }

    fn validate(grant: &Option<HttpGrant>) -> Result<(), String> {
        let Some(grant) = grant else { return Ok(()) };
        if grant.allow.is_empty() {
            return Err("allow must list at least one host".to_owned());
        }
        if let Some(bad) = grant
            .allow
            .iter()
            .find(|h| h.is_empty() || h.contains('/') || h.contains('*'))
        {
            return Err(format!("allow entry `{bad}` must be a host or host:port"));
        }
        if let Some(bad) = grant
            .methods
            .iter()
            .find(|m| ::http::Method::from_bytes(m.as_bytes()).is_err())
        {
            return Err(format!("methods entry `{bad}` is not an HTTP method"));
        }
        if grant.timeout_ms == 0 || grant.timeout_ms > crate::manifest::MAX_TIMEOUT_MS {
            return Err(format!(
                "timeout-ms must be 1..={}",
                crate::manifest::MAX_TIMEOUT_MS
            ));
        }
        if grant.max_response_kib == 0 || grant.max_response_kib > MAX_RESPONSE_KIB {
            return Err(format!("max-response-kib must be 1..={MAX_RESPONSE_KIB}"));
        }
        Ok(())
    }

    fn provides(import: &str) -> bool {
        import.starts_with("wasi:http/")
    }

    fn link(linker: &mut Linker<HostState>, _wit: WitVersion) -> wasmtime::Result<()> {
        // `wasi:http` is versioned on its own (0.2.x, matched semver-compatibly by wasmtime),
        // whatever mantle:plugin version the component targets.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
    }

    fn state(grant: &Option<HttpGrant>, context: &InstanceContext<'_>) -> HttpState {
        HttpState {
            ctx: WasiHttpCtx::new(),
            hooks: Hooks {
                grant: grant.clone().map(Arc::new),
                plugin_id: context.id.clone(),
            },
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.caps.http.ctx,
            table: &mut self.table,
            hooks: &mut self.caps.http.hooks,
        }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(::http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: ::http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let Some(grant) = self.grant.clone() else {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        };
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().to_owned();
        let https = uri.scheme() == Some(&::http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let method = request.method().as_str().to_owned();
        if !grant.permits(&method, &host, port) {
            tracing::warn!(plugin = %self.plugin_id, %method, %host, port, "outbound HTTP request denied");
            metrics::counter!("mantle_plugin_http_denied_total", "plugin" => self.plugin_id.to_string())
                .increment(1);
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        metrics::counter!("mantle_plugin_http_requests_total", "plugin" => self.plugin_id.to_string())
            .increment(1);
        let cap = Duration::from_millis(grant.timeout_ms);
        let tighter = |asked: Option<Duration>| Some(asked.map_or(cap, |a| a.min(cap)));
        let options = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: tighter(options.connect_timeout),
            first_byte_timeout: tighter(options.first_byte_timeout),
            between_bytes_timeout: tighter(options.between_bytes_timeout),
        };
        let max_bytes = grant.max_response_kib * 1024;
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let declared = response
                .headers()
                .get(::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(length) = declared
                && length > max_bytes
            {
                return Err(HttpError::HttpResponseBodySize(Some(length)));
            }
            // The declared length may lie or be absent: the body itself is cut off at the cap.
            let response = response.map(|body| {
                Limited::new(body, max_bytes as usize)
                    .map_err(move |error| match error.downcast::<HttpError>() {
                        Ok(error) => *error,
                        Err(_) => HttpError::HttpResponseBodySize(Some(max_bytes)),
                    })
                    .boxed_unsync()
            });
            Ok((response, Box::new(io) as IoFuture))
        })
    }
}
