//! A fresh folder for a test's files (a durable outbox), removed when the test ends.

use std::path::PathBuf;

/// A folder under the system's temp dir with a random name, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates it.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tether-test-{:016x}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        Self(dir)
    }

    /// A path in it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
