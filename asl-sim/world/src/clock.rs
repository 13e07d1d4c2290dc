//! The wall clock, for the commands that run on real time (`run --real-time`, `serve`).

use asl_core::engine::Clock;

/// Milliseconds since the Unix epoch.
pub fn wall_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Real time: `sleep` really sleeps.
pub struct RealClock;

impl Clock for RealClock {
    fn now_millis(&self) -> i64 {
        wall_millis()
    }
    fn sleep(&mut self, ms: i64) {
        if ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(ms as u64));
        }
    }
}
