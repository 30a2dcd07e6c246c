//! Child processes for tests that run the real `latch` binary.

use std::net::TcpListener;
use std::process::Child;

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// server behind.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}
