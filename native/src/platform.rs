//! The native [`Platform`]: the system clock, the operating system's RNG, and PBKDF2
//! on tokio's blocking pool so a slow hash never stalls the reactor.

use latch_core::platform::Platform;
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
