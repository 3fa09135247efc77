//! What asks a run to stop: Ctrl-C (SIGINT) and SIGTERM, the signal service
//! managers, `kill` and container runtimes send. Both are handled alike by
//! every front end: the run stops at its next step boundary, is journaled
//! as interrupted, and can be resumed.

/// Resolves when the process receives SIGINT or SIGTERM. If a handler
/// cannot be installed, that signal keeps its default action.
pub async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = terminate => {}
        () = interrupt => {}
    }
}
