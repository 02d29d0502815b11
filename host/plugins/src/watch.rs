//! Hot reload: a watcher on the plugins directory that rescans the registry when it changes.
//!
//! Operators should replace files by writing beside and renaming (as `mantle plugin install`
//! does): events are debounced, and a half-written component that fails to load leaves the
//! running version in place until the next change.

use std::sync::{Arc, Weak, mpsc};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::registry::Registry;

/// Quiet time after the last event before rescanning.
const DEBOUNCE: Duration = Duration::from_millis(150);

impl Registry {
    /// Starts watching the plugins directory; changes are picked up without a restart.
    pub fn watch(self: &Arc<Self>) -> notify::Result<()> {
        let (tx, rx) = mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && !event.kind.is_access()
                {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(self.dir(), RecursiveMode::Recursive)?;
        *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher);
        let registry: Weak<Registry> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("mantle-plugin-watch".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    while rx.recv_timeout(DEBOUNCE).is_ok() {}
                    let Some(registry) = registry.upgrade() else {
                        break;
                    };
                    registry.rescan();
                }
            })?;
        Ok(())
    }
}
