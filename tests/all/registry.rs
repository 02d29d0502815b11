//! The registry: `name@version` resolution, install, enable/disable, remove, and hot reload
//! from a watched directory.

use std::time::{Duration, Instant};

use mantle_plugins::{CallError, Registry};
use mantle_tests::{fixture, install_dir};

use crate::{engine, services};

fn registry(dir: &std::path::Path) -> std::sync::Arc<Registry> {
    Registry::open(engine(), services(), dir.to_owned()).unwrap()
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn resolves_by_name_to_the_newest_enabled_version() {
    let dir = tempfile::tempdir().unwrap();
    install_dir(&fixture("custom-bank-policy"), dir.path());
    let v1 = std::fs::read_dir(mantle_tests::fixture_dist())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy() == "custom-bank-policy@0.1.0")
        .unwrap()
        .path();
    install_dir(&v1, dir.path());
    let registry = registry(dir.path());
    assert_eq!(
        registry.resolve("custom-bank-policy").unwrap().id(),
        "custom-bank-policy@0.2.0"
    );
    assert_eq!(
        registry.resolve("custom-bank-policy@0.1.0").unwrap().id(),
        "custom-bank-policy@0.1.0"
    );
    assert!(
        registry
            .set_enabled("custom-bank-policy@0.2.0", false)
            .unwrap()
    );
    assert_eq!(
        registry.resolve("custom-bank-policy").unwrap().id(),
        "custom-bank-policy@0.1.0"
    );
    assert!(matches!(
        registry.resolve("custom-bank-policy@0.2.0"),
        Err(CallError::Disabled(_))
    ));
    // The disabled state survives a restart.
    drop(registry);
    let reopened = self::registry(dir.path());
    assert_eq!(
        reopened.resolve("custom-bank-policy").unwrap().id(),
        "custom-bank-policy@0.1.0"
    );
    assert!(reopened.remove("custom-bank-policy@0.1.0").unwrap());
    assert!(matches!(
        reopened.resolve("custom-bank-policy"),
        Err(CallError::Disabled(_))
    ));
    assert!(matches!(
        reopened.resolve("nope"),
        Err(CallError::NotFound(_))
    ));
}

#[test]
fn install_checks_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let bad = fixture("ungranted-import");
    let manifest = std::fs::read_to_string(bad.join("plugin.toml")).unwrap();
    let wasm = std::fs::read(bad.join("plugin.wasm")).unwrap();
    assert!(registry.install(&manifest, &wasm, false).is_err());
    assert!(registry.install(&manifest, b"not wasm", false).is_err());
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(
        entries.is_empty(),
        "nothing may be left behind: {entries:?}"
    );

    let good = fixture("custom-bank-policy");
    let manifest = std::fs::read_to_string(good.join("plugin.toml")).unwrap();
    let wasm = std::fs::read(good.join("plugin.wasm")).unwrap();
    let info = registry.install(&manifest, &wasm, false).unwrap();
    assert_eq!(info.id, "custom-bank-policy@0.2.0");
    assert!(matches!(
        registry.install(&manifest, &wasm, false),
        Err(mantle_plugins::LoadError::AlreadyInstalled(_))
    ));
    assert!(registry.install(&manifest, &wasm, true).is_ok());
    assert!(
        dir.path()
            .join("custom-bank-policy@0.2.0/plugin.wasm")
            .is_file()
    );
}

#[test]
fn a_watched_directory_loads_swaps_and_unloads_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.watch().unwrap();
    assert!(registry.resolve("custom-bank-policy").is_err());

    let installed = install_dir(&fixture("custom-bank-policy"), dir.path());
    wait_until("the plugin to load", || {
        registry.resolve("custom-bank-policy").is_ok()
    });

    // A half-written component never replaces a working one.
    std::fs::write(installed.join("plugin.wasm"), b"\0asm garbage").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(registry.resolve("custom-bank-policy").is_ok());

    std::fs::remove_dir_all(&installed).unwrap();
    wait_until("the plugin to unload", || {
        registry.resolve("custom-bank-policy").is_err()
    });
}
