//! The native [`Platform`]: the system clock, the operating system's RNG, and PBKDF2
//! on tokio's blocking pool so a slow hash never stalls the reactor.

use latch_core::platform::{BackchannelLogout, Platform};
use rand::RngCore;

/// System time and OS randomness.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativePlatform;

impl Platform for NativePlatform {
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }

    fn fill_random(&self, buf: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(buf)
    }

    /// Each logout token goes out on its own task with a 10 s timeout; failures are
    /// logged (without the token) and never block the logout.
    fn send_backchannel_logouts(&self, deliveries: Vec<BackchannelLogout>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(count = deliveries.len(), "no runtime: back-channel logouts not sent");
            return;
        };
        for d in deliveries {
            runtime.spawn(async move {
                let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build();
                let sent = match client {
                    Ok(c) => c.post(&d.url).form(&[("logout_token", d.logout_token.as_str())]).send().await,
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(r) if r.status().is_success() => tracing::debug!(url = %d.url, "back-channel logout delivered"),
                    Ok(r) => tracing::warn!(url = %d.url, status = r.status().as_u16(), "back-channel logout refused"),
                    Err(e) => tracing::warn!(url = %d.url, error = %e, "back-channel logout failed"),
                }
            });
        }
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
        let (password, salt) = (password.to_vec(), salt.to_vec());
        let derive = move || {
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password, &salt, rounds, &mut out);
            out
        };
        match tokio::runtime::Handle::try_current() {
            // A panic inside the closure is impossible (pure arithmetic); a JoinError can
            // only mean the runtime is shutting down, and then the answer no longer matters.
            Ok(h) => h.spawn_blocking(derive).await.unwrap_or([0u8; 32]),
            Err(_) => derive(),
        }
    }
}
