//! Starting and stopping the server.

use std::future::Future;

use tokio::net::TcpListener;

use crate::settings::Settings;

/// Serves until `shutdown` resolves, then finishes in-flight requests and returns.
pub async fn serve(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
    serve_on(listener, settings, shutdown).await
}

/// Serves on an already bound listener (tests bind port 0 and read the port back).
pub async fn serve_on(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::telemetry::init_metrics();
    let state = tokio::task::spawn_blocking(move || crate::app::build_state(settings)).await??;
    let plugins = state.registry.list().len();
    let knowledge = state.knowledge.clone();
    let app = crate::app::router(state);
    let address = listener.local_addr()?;
    tracing::info!(%address, plugins, "mantle listening");
    // Printed for scripts and tests that start the server on port 0.
    println!("mantle listening on http://{address}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    // So the next start loads the vector graphs instead of rebuilding them.
    let saved = tokio::task::spawn_blocking(move || knowledge.checkpoint()).await?;
    if let Err(e) = saved {
        tracing::warn!(error = %e, "knowledge index not saved; the next start rebuilds it");
    }
    tracing::info!("mantle stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
