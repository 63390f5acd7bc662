//! The HTTPS listener and its four routes. TLS (rustls) is done per connection before HTTP
//! (hyper, HTTP/1.1 or HTTP/2 by ALPN); on SIGTERM the listener closes and every connection
//! finishes the reviews it is answering before the process exits.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{review, Webhook};

/// The API server caps objects at about 1.5 MB; a review holds the object and the old one.
const BODY_LIMIT: usize = 8 * 1024 * 1024;
/// A client that opens a connection and never finishes the handshake does not hold it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Reviews in flight at SIGTERM get this long to finish (the Pod's grace period is 30 s).
const DRAIN: Duration = Duration::from_secs(20);

fn router(webhook: Arc<Webhook>) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(webhook)
}

async fn validate(State(webhook): State<Arc<Webhook>>, body: Bytes) -> Response {
    let request = match review::parse(&body) {
        Ok(request) => request,
        Err(why) => {
            webhook.metrics.bad_request();
            tracing::warn!("HTTP 400: {why}");
            return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response();
        }
    };
    let decision = webhook.decide(&request).await;
    (
        [(header::CONTENT_TYPE, "application/json")],
        review::reply(&request.uid, &decision.answer),
    )
        .into_response()
}

async fn readyz(State(webhook): State<Arc<Webhook>>) -> Response {
    if webhook.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: AWS credentials do not resolve yet\n",
        )
            .into_response()
    }
}

async fn metrics(State(webhook): State<Arc<Webhook>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        webhook.metrics.render(),
    )
        .into_response()
}

/// Accepts connections until SIGTERM or Ctrl-C, then drains them.
pub async fn serve(listener: TcpListener, config: rustls::ServerConfig, webhook: Arc<Webhook>) {
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let app = router(webhook);
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let (acceptor, app, builder) = (acceptor.clone(), app.clone(), builder.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let connection = builder
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing the reviews in flight");
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("reviews still open after {DRAIN:?}: closing them");
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot watch for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
