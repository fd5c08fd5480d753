//! The harness: [`TestApp`] (a server with its database and a receiver),
//! [`Receiver`], and the [`e2e!`] macro that runs a test on each backend.

mod app;
pub mod cluster;
mod database;
pub mod deployment;
pub mod process;
mod receiver;
pub mod spec;

pub use app::{JWT_SECRET, TestApp, read as read_response, test_settings};
pub use database::{Backend, Database};
pub use receiver::{Received, Receiver, Reply};

/// Declares a test that runs once per backend: `name::sqlite` always,
/// `name::postgres` when `TEST_POSTGRES_URL` is set.
#[macro_export]
macro_rules! e2e {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: $ty:ty) $body:block) => {
        mod $name {
            use super::*;

            async fn run($backend: $ty) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::support::Backend::postgres() {
                    run(backend).await
                }
            }
        }
    };
}

/// Polls `check` until it returns `Some`, for at most `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {seconds} s waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
