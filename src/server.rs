//! The HTTP service: router, health and readiness probes, the channels' webhooks, background
//! upkeep and graceful shutdown. The listener and the shutdown signal come from outside so
//! tests can run the real server on port 0 and stop it when they are done.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

use crate::channels::telegram::Telegram;
use crate::conversation::Conversation;
use crate::store::Store;

/// What every request handler can reach.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub conversation: Conversation,
    /// The Telegram bot, when configured. Without it `POST /webhooks/telegram` is not routed
    /// and answers 404.
    pub telegram: Option<Telegram>,
}

/// The service's routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(app)
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
async fn readyz(State(app): State<App>) -> impl IntoResponse {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": "database" })),
            )
        }
    }
}

/// Abuse-limit counters older than this are removed.
const COUNTER_RETENTION_SECONDS: i64 = 2 * 24 * 3600;

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upkeep = tokio::spawn(upkeep(Arc::clone(&app.store)));
    let telegram = app
        .telegram
        .as_ref()
        .map(|telegram| telegram.start(Arc::clone(&app.store), app.conversation.clone()));
    let mut routes = router(app);
    let mut telegram_workers = None;
    if let Some((route, workers)) = telegram {
        routes = routes.merge(route);
        telegram_workers = Some(workers);
    }
    let result = axum::serve(listener, routes)
        .with_graceful_shutdown(shutdown)
        .await;
    // The routes are gone with the server: the workers finish what was queued, and anything
    // left stays in the inbox for the next start.
    if let Some(workers) = telegram_workers {
        workers.shutdown().await;
    }
    upkeep.abort();
    result
}

/// Hourly housekeeping: drop expired abuse-limit counters and old inbound message ids (kept
/// two days: providers retry for minutes, not days) so the tables stay small.
async fn upkeep(store: Arc<dyn Store>) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let before = crate::domain::now() - COUNTER_RETENTION_SECONDS;
        match store.prune_counters(before).await {
            Ok(removed) => tracing::debug!(removed, "pruned rate counters"),
            Err(error) => tracing::warn!(%error, "could not prune rate counters"),
        }
        match store.prune_inbound_seen(before).await {
            Ok(removed) => tracing::debug!(removed, "pruned inbound message ids"),
            Err(error) => tracing::warn!(%error, "could not prune inbound message ids"),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
