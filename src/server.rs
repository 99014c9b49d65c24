//! The HTTP service: router, health and readiness probes, the admin API, metrics, background
//! upkeep and graceful shutdown. The listeners and the shutdown signal come from outside so
//! tests can run the real server on port 0 and stop it when they are done.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::timeout::TimeoutLayer;

use crate::admin::AdminState;
use crate::admin::error::ApiError;
use crate::channels::sms::lane::sms_lane;
use crate::channels::sms::{self, SmsGateway};
use crate::channels::telegram::Telegram;
use crate::channels::telegram::duty::TelegramChats;
use crate::channels::telegram::lane::TelegramNotices;
use crate::config::Config;
use crate::conversation::Conversation;
use crate::conversation::stats::LookupRecorder;
use crate::domain::Channel;
use crate::duty::{DutyDesk, DutySettings};
use crate::i18n::{Catalog, CatalogError};
use crate::metrics::{self, Metrics, MetricsState};
use crate::notices::{ChannelLimits, Dispatcher, OutboxBell, RetryPolicy};
use crate::office::{Office, Rules};
use crate::store::Store;

/// Limits and switches the handlers need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub import_max_bytes: u64,
    pub max_voters_per_station: u32,
    /// Serve `/metrics` on the main listener (no separate metrics address configured).
    pub metrics_on_main_listener: bool,
    /// A change set must be approved by another token than the one that imported it.
    pub two_person_rule: bool,
    /// The SMS configuration, for the notice dispatcher's provider and rate.
    pub sms: crate::config::SmsConfig,
    pub notices: crate::config::NoticesConfig,
    /// The web console's settings.
    pub console: crate::console::ConsoleSettings,
    /// Seconds between two looks for duty tickets to escalate.
    pub duty_check_seconds: u64,
}

/// What every request handler can reach.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub conversation: Conversation,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub recorder: Arc<LookupRecorder>,
    pub catalog: Arc<Catalog>,
    /// The SMS providers that are configured.
    pub sms: Arc<SmsGateway>,
    /// The Telegram bot, when configured. Without it `POST /webhooks/telegram` is not routed
    /// and answers 404.
    pub telegram: Option<Telegram>,
    /// Rung when a reply is put in the outbox, so the dispatcher sends it at once.
    pub bell: OutboxBell,
    /// The web console's texts.
    pub console_texts: Arc<crate::console::Texts>,
    /// The duty desk: tickets, the roster, agents' answers, escalation.
    pub duty: DutyDesk,
}

/// The service cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("message catalogues: {0}")]
    Catalog(#[from] CatalogError),
    #[error("SMS gateway configuration: {0}")]
    Sms(#[from] crate::channels::sms::SmsSetupError),
    #[error("telegram: {0}")]
    Telegram(#[from] crate::channels::telegram::TelegramError),
}

impl App {
    /// The whole service as the configuration describes it: the conversation, the SMS
    /// providers and the Telegram bot that are configured. `maktab serve` and the tests build
    /// it this one way.
    pub fn from_config(store: Arc<dyn Store>, config: &Config) -> Result<Self, AppError> {
        let sms = SmsGateway::from_config(&config.sms)?;
        let telegram = Telegram::from_config(&config.telegram)?;
        Ok(Self::new(store, config)?
            .with_sms(sms)
            .with_telegram(telegram))
    }

    /// The application state of the configuration, without channels (see
    /// [`App::from_config`]).
    pub fn new(store: Arc<dyn Store>, config: &Config) -> Result<Self, CatalogError> {
        let recorder = Arc::new(LookupRecorder::new());
        let catalog = Arc::new(Catalog::load()?);
        let bell = OutboxBell::default();
        let duty = DutyDesk::new(
            Arc::clone(&store),
            Arc::clone(&catalog),
            duty_settings(config, None),
            bell.clone(),
        );
        let conversation = Conversation::new(
            Arc::clone(&store),
            Arc::clone(&catalog),
            config.conversation(),
        )
        .with_recorder(Arc::clone(&recorder))
        .with_duty(duty.clone());
        Ok(Self {
            store,
            conversation,
            settings: Arc::new(Settings {
                import_max_bytes: config.api.import_max_bytes,
                max_voters_per_station: config.import.max_voters_per_station,
                metrics_on_main_listener: config.metrics_listen.is_none(),
                two_person_rule: config.changes.two_person_rule,
                sms: config.sms.clone(),
                notices: config.notices.clone(),
                console: console_settings(config),
                duty_check_seconds: config.duty.escalate_check_seconds,
            }),
            metrics: Arc::new(Metrics::new()),
            recorder,
            catalog,
            sms: Arc::new(SmsGateway::disabled()),
            telegram: None,
            bell,
            console_texts: Arc::new(crate::console::Texts::load()?),
            duty,
        })
    }

    /// The same service with this Telegram bot (or none). The duty desk then writes to
    /// agents (and to voters who wrote on Telegram) through the Telegram lane.
    pub fn with_telegram(self, telegram: Option<Telegram>) -> Self {
        let chats = telegram.as_ref().map(|_| {
            Arc::new(TelegramChats::new(
                Arc::clone(&self.store),
                self.bell.clone(),
            )) as Arc<dyn crate::duty::ChatOutbox>
        });
        let duty = self.duty.clone().with_chats(chats);
        Self { telegram, ..self }.with_duty(duty)
    }

    /// The same service with these SMS providers. Agents' answers to SMS voters go out
    /// through the one that sends notices.
    pub fn with_sms(self, sms: SmsGateway) -> Self {
        let provider = sms.notice_provider().map(|p| p.as_str().to_owned());
        let duty = self.duty.clone().with_sms_provider(provider);
        Self {
            sms: Arc::new(sms),
            ..self
        }
        .with_duty(duty)
    }

    fn with_duty(self, duty: DutyDesk) -> Self {
        Self {
            conversation: self.conversation.clone().with_duty(duty.clone()),
            duty,
            ..self
        }
    }

    fn admin_state(&self) -> AdminState {
        let rules = Rules {
            two_person_rule: self.settings.two_person_rule,
            max_voters_per_station: self.settings.max_voters_per_station,
        };
        AdminState {
            office: Office::new(Arc::clone(&self.store), Arc::clone(&self.catalog), rules)
                .with_duty(self.duty.clone()),
            import_max_bytes: self.settings.import_max_bytes,
        }
    }

    fn console_state(&self) -> crate::console::ConsoleState {
        crate::console::ConsoleState {
            office: self.admin_state().office,
            texts: Arc::clone(&self.console_texts),
            settings: Arc::new(self.settings.console.clone()),
        }
    }

    fn sms_state(&self) -> sms::SmsState {
        sms::SmsState {
            store: Arc::clone(&self.store),
            conversation: self.conversation.clone(),
            sms: Arc::clone(&self.sms),
            bell: self.bell.clone(),
        }
    }

    fn metrics_state(&self) -> MetricsState {
        MetricsState {
            metrics: Arc::clone(&self.metrics),
            recorder: Arc::clone(&self.recorder),
            store: Arc::clone(&self.store),
        }
    }
}

/// The duty desk's rules from the configuration; `sms_provider` is the provider agents'
/// answers to SMS voters go out through.
pub fn duty_settings(config: &Config, sms_provider: Option<String>) -> DutySettings {
    DutySettings {
        escalate_minutes: config.duty.escalate_minutes.max(1),
        incident_escalate_minutes: config.duty.incident_escalate_minutes.max(1),
        sms_provider,
    }
}

/// The console's settings from the configuration: `Secure` cookies when its public URL (or,
/// unset, the SMS or Telegram one) is HTTPS.
fn console_settings(config: &Config) -> crate::console::ConsoleSettings {
    let public_url = config
        .console
        .public_url
        .as_ref()
        .or(config.sms.public_url.as_ref())
        .or(config.telegram.public_url.as_ref());
    crate::console::ConsoleSettings {
        policy: crate::office::users::SessionPolicy {
            idle_seconds: config.console.session_idle_minutes.max(1) * 60,
            absolute_seconds: config.console.session_absolute_hours.max(1) * 3600,
            attempts_per_login: config.console.attempts_per_login,
            attempts_per_address: config.console.attempts_per_address,
            attempt_window_seconds: 15 * 60,
            national_second_factor: config.console.national_totp,
        },
        secure_cookies: public_url.is_some_and(|url| url.starts_with("https://")),
        import_max_bytes: config.api.import_max_bytes,
        max_voters_per_station: config.import.max_voters_per_station,
        bot_username: config.telegram.bot_username.clone(),
    }
}

/// The service's routes.
pub fn router(app: App) -> Router {
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ));
    let mut router = Router::new()
        .merge(probes)
        .fallback(not_found)
        .with_state(app.clone())
        .merge(sms::routes(app.sms_state()))
        .merge(crate::admin::router(app.admin_state()))
        .merge(crate::console::router(app.console_state()));
    if app.settings.metrics_on_main_listener {
        router = router.merge(metrics_router(&app));
    }
    with_json_errors(router).layer(axum::middleware::from_fn_with_state(
        Arc::clone(&app.metrics),
        metrics::track,
    ))
}

/// `GET /metrics` alone, for a separate listener.
pub fn metrics_router(app: &App) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(app.metrics_state())
}

/// Every error the routes answer carries the one JSON error body, including the ones axum
/// writes itself (see [`json_errors`](crate::admin::error::json_errors)). Applied to each
/// group of routes as it is added, since a layer covers only the routes already there.
fn with_json_errors(router: Router) -> Router {
    router.layer(axum::middleware::map_response(
        crate::admin::error::json_errors,
    ))
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NoRoute(format!("{method} {}", uri.path()))
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
/// How often counted lookups are written to the database.
const STATS_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Serves until `shutdown` completes, then lets requests in flight finish and writes the last
/// statistics. `metrics_listener`, if given, serves `/metrics` on its own address.
pub async fn serve(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    // The outbox stops after the listener: replies of requests still in flight at the signal
    // are enqueued first, then drained with the rest.
    let (stop_outbox, outbox_stopped) = watch::channel(false);
    let until_stopped = |mut receiver: watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let upkeep = tokio::spawn(upkeep(Arc::clone(&app.store)));
    let drain = Duration::from_secs(app.settings.notices.drain_seconds);
    let dispatcher = tokio::spawn(notice_dispatcher(&app).run(outbox_stopped, drain));
    let flusher = tokio::spawn(flush_statistics(app.clone(), stopped.clone()));
    let escalation = tokio::spawn(escalate(
        app.duty.clone(),
        Duration::from_secs(app.settings.duty_check_seconds.max(1)),
    ));
    let metrics_server = metrics_listener.map(|listener| {
        let router = metrics_router(&app);
        let stopped = until_stopped(stopped.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
        })
    });
    let telegram = app.telegram.as_ref().map(|telegram| {
        telegram.start(
            Arc::clone(&app.store),
            app.conversation.clone(),
            app.bell.clone(),
        )
    });
    let mut routes = router(app.clone());
    let mut telegram_workers = None;
    if let Some((route, workers)) = telegram {
        routes = routes.merge(with_json_errors(route));
        telegram_workers = Some(workers);
    }
    // The peer address feeds the Kannel allow-list.
    let service = routes.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(until_stopped(stopped))
        .await;
    if let Some(metrics_server) = metrics_server {
        match metrics_server.await {
            Ok(Err(error)) => tracing::warn!(%error, "metrics listener failed"),
            Err(error) => tracing::warn!(%error, "metrics listener task failed"),
            Ok(Ok(())) => {}
        }
    }
    // The routes are gone with the server: the Telegram workers finish what was queued, and
    // anything left stays in the inbox for the next start.
    if let Some(workers) = telegram_workers {
        workers.shutdown().await;
    }
    upkeep.abort();
    escalation.abort();
    let _ = stop_outbox.send(true);
    let _ = flusher.await;
    let _ = dispatcher.await;
    match app.store.outbox_waiting().await {
        Ok(waiting) if !waiting.is_empty() => {
            tracing::info!(?waiting, "messages left in the outbox for the next start");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not count the outbox"),
    }
    result
}

/// The outbox dispatcher: one lane per SMS provider that can send (its replies, and the
/// notices on the first of them) and one for Telegram. With none configured it still prepares
/// the campaigns of approved change sets, so they are ready once a channel is.
fn notice_dispatcher(app: &App) -> Dispatcher {
    let mut dispatcher = Dispatcher::new(Arc::clone(&app.store), Arc::clone(&app.catalog))
        .with_batch(app.settings.notices.batch, 32)
        .with_lease(app.settings.notices.lease_seconds)
        .with_bell(app.bell.clone());
    let notices_on = app.sms.notice_provider();
    let sms_retry = RetryPolicy {
        max_attempts: app.settings.sms.send_max_attempts.max(1),
        ..RetryPolicy::default()
    };
    dispatcher = dispatcher.with_retry(sms_retry);
    for provider in app.sms.sending() {
        if let Some((sender, limits)) = sms_lane(&app.sms, provider) {
            dispatcher = dispatcher.with_lane(
                Channel::Sms,
                Some(provider.as_str()),
                notices_on == Some(provider),
                Arc::new(sender),
                limits,
            );
        }
    }
    dispatcher = dispatcher.with_retry(RetryPolicy::default());
    if let Some(telegram) = &app.telegram {
        let notices = TelegramNotices::new(telegram, Arc::clone(&app.store));
        dispatcher = dispatcher.with_channel(
            Channel::Telegram,
            Arc::new(notices),
            ChannelLimits::TELEGRAM,
        );
    }
    dispatcher
}

/// Writes counted lookups every few seconds, and once more at shutdown.
async fn flush_statistics(app: App, mut stopped: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(STATS_FLUSH_INTERVAL);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => break,
        }
        if let Err(error) = app.recorder.flush(app.store.as_ref()).await {
            tracing::warn!(%error, "could not write lookup statistics; kept for the next flush");
        }
    }
    if let Err(error) = app.recorder.flush(app.store.as_ref()).await {
        tracing::error!(%error, "could not write the last lookup statistics");
    }
}

/// The duty desk's escalation: every few seconds, tickets past their deadline without a first
/// answer go to the wilaya's and the national duty cells. Several instances may run this at
/// once: the store escalates each ticket in one guarded statement, so each goes once.
async fn escalate(desk: DutyDesk, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match desk.escalate(crate::domain::now()).await {
            Ok(0) => {}
            Ok(escalated) => tracing::info!(escalated, "tickets escalated"),
            Err(error) => tracing::warn!(%error, "could not escalate tickets"),
        }
    }
}

/// Hourly housekeeping: drop expired abuse-limit counters and old inbound message ids (kept
/// two days: providers retry for minutes, not days) so the tables stay small, and erase
/// expired dialogues (an abandoned report draft holds personal data).
async fn upkeep(store: Arc<dyn Store>) {
    // The first run waits an hour too: nothing is due at start-up.
    let hour = Duration::from_secs(3600);
    let mut every_hour = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
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
        // Console sessions are dead after their absolute expiry (12 h by default); two days
        // keeps ended ones long enough to read in an investigation.
        match store.prune_sessions(before).await {
            Ok(removed) => tracing::debug!(removed, "pruned console sessions"),
            Err(error) => tracing::warn!(%error, "could not prune console sessions"),
        }
        match store.forget_expired_dialogues(crate::domain::now()).await {
            Ok(removed) => tracing::debug!(removed, "erased expired dialogues"),
            Err(error) => tracing::warn!(%error, "could not erase expired dialogues"),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled: a SIGTERM that comes right after start-up (an
/// orchestrator, a test) is then a clean shutdown rather than the default action, which kills
/// the process and leaves its work for the next start.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for SIGINT and SIGTERM");
                    return std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
                _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
        tracing::info!("SIGINT received, shutting down");
    }
}
