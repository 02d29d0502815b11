//! The plugin registry: every loaded plugin by `name@version`, swapped atomically.
//!
//! The plugins directory holds one folder per plugin version (`<name>@<version>/plugin.toml`
//! plus its component). The registry loads what is there at start, rescans when the directory
//! changes (see `watch`), and writes there itself when the admin API installs, disables or
//! removes a plugin, so a restart comes back to the same set.
//!
//! Readers take an `Arc<LoadedPlugin>` from an immutable snapshot: a call in flight keeps the
//! version it started with, while the next call sees the new snapshot.
//!
//! Built-in plugins (compiled into the host binary, see [`Builtin`]) sit below the plugins
//! directory: a name resolves to its newest enabled *installed* version first, and to the
//! built-in only when no installed version of that name is enabled. So installing any version
//! of `word-filter` replaces the built-in one, and disabling or removing it brings the built-in
//! back. Built-ins cannot be disabled or removed themselves; an installed plugin of the same
//! name is how an operator replaces one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::engine::{PluginEngine, digest};
use crate::error::{CallError, LoadError};
use crate::manifest::{Capabilities, Kind, Limits, Manifest};
use crate::plugin::LoadedPlugin;
use crate::services::HostServices;

/// Marks a plugin version disabled; kept in its folder so the state survives restarts.
const DISABLED_MARKER: &str = "disabled";

#[derive(Clone)]
struct Entry {
    plugin: Arc<LoadedPlugin>,
    enabled: bool,
    dir: PathBuf,
}

type Snapshot = BTreeMap<String, BTreeMap<semver::Version, Entry>>;

/// A plugin compiled into the host binary: its `plugin.toml` text and component bytes.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

/// Where a plugin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginSource {
    /// The plugins directory or the admin API.
    Installed,
    /// Shipped inside the host binary.
    Builtin,
}

/// What the admin API and CLI show of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginInfo {
    pub id: String,
    pub source: PluginSource,
    pub name: String,
    pub version: String,
    pub kind: Kind,
    pub wit: String,
    pub description: String,
    pub enabled: bool,
    pub digest: String,
    pub capabilities: Capabilities,
    pub limits: Limits,
}

/// All plugins known to the host.
pub struct Registry {
    engine: Arc<PluginEngine>,
    services: Arc<HostServices>,
    dir: PathBuf,
    snapshot: ArcSwap<Snapshot>,
    /// The built-in plugins by name, fixed at start.
    builtins: BTreeMap<String, Arc<LoadedPlugin>>,
    /// Serialises changes; readers never take it.
    changes: Mutex<()>,
    pub(crate) watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("dir", &self.dir)
            .field("plugins", &self.list().len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens the plugins directory `dir` (creating it) and loads every plugin in it. Plugins
    /// that fail to load are logged and skipped.
    pub fn open(
        engine: Arc<PluginEngine>,
        services: Arc<HostServices>,
        dir: PathBuf,
    ) -> anyhow::Result<Arc<Self>> {
        Self::open_with_builtins(engine, services, dir, &[])
    }

    /// [`Registry::open`] with built-in plugins beneath the plugins directory. Each is compiled
    /// through the engine's component cache, so only a fresh cache pays for compilation; one
    /// that fails to load is logged and skipped.
    pub fn open_with_builtins(
        engine: Arc<PluginEngine>,
        services: Arc<HostServices>,
        dir: PathBuf,
        builtins: &[Builtin],
    ) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(&dir)?;
        let mut loaded = BTreeMap::new();
        for builtin in builtins {
            let plugin = Manifest::parse(builtin.manifest).and_then(|manifest| {
                LoadedPlugin::load(manifest, builtin.wasm, &engine, &services)
            });
            match plugin {
                Ok(plugin) => {
                    swap_metrics(&BTreeMap::new(), &plugin);
                    loaded.insert(plugin.manifest().name.clone(), Arc::new(plugin));
                }
                Err(error) => load_failed("built-in plugin", &error),
            }
        }
        let registry = Arc::new(Self {
            engine,
            services,
            dir,
            snapshot: ArcSwap::from_pointee(Snapshot::new()),
            builtins: loaded,
            changes: Mutex::new(()),
            watcher: Mutex::new(None),
        });
        registry.rescan();
        Ok(registry)
    }

    /// The plugins directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The plugin for `spec`: `name@version` exactly, or `name` for its highest enabled version.
    pub fn resolve(&self, spec: &str) -> Result<Arc<LoadedPlugin>, CallError> {
        let snapshot = self.snapshot.load();
        let not_found = || CallError::NotFound(spec.to_owned());
        match spec.split_once('@') {
            Some((name, version)) => {
                let version = semver::Version::parse(version).map_err(|_| not_found())?;
                let Some(entry) = snapshot
                    .get(name)
                    .and_then(|versions| versions.get(&version))
                else {
                    return self
                        .builtin(name, Some(&version))
                        .cloned()
                        .ok_or_else(not_found);
                };
                if !entry.enabled {
                    return self
                        .builtin(name, Some(&version))
                        .cloned()
                        .ok_or_else(|| CallError::Disabled(spec.to_owned()));
                }
                Ok(entry.plugin.clone())
            }
            None => {
                let versions = snapshot.get(spec);
                let installed = versions
                    .and_then(|versions| versions.values().rev().find(|entry| entry.enabled));
                match (installed, self.builtin(spec, None)) {
                    (Some(entry), _) => Ok(entry.plugin.clone()),
                    (None, Some(builtin)) => Ok(builtin.clone()),
                    (None, None) if versions.is_some() => Err(CallError::Disabled(spec.to_owned())),
                    (None, None) => Err(not_found()),
                }
            }
        }
    }

    /// The built-in plugin called `name` (of exactly `version`, when given).
    fn builtin(&self, name: &str, version: Option<&semver::Version>) -> Option<&Arc<LoadedPlugin>> {
        self.builtins
            .get(name)
            .filter(|plugin| version.is_none_or(|v| plugin.manifest().version == *v))
    }

    /// Every plugin version, by name then version (a built-in before an installed copy of
    /// the same version).
    pub fn list(&self) -> Vec<PluginInfo> {
        let snapshot = self.snapshot.load();
        let mut all: Vec<PluginInfo> = snapshot
            .values()
            .flat_map(|versions| versions.values())
            .map(info)
            .chain(self.builtins.values().map(|p| builtin_info(p)))
            .collect();
        all.sort_by(|a, b| {
            let version = |i: &PluginInfo| semver::Version::parse(&i.version).ok();
            (&a.name, version(a), a.source == PluginSource::Installed).cmp(&(
                &b.name,
                version(b),
                b.source == PluginSource::Installed,
            ))
        });
        all
    }

    /// Information about one plugin version (`name@version`) or a name's active version.
    pub fn get(&self, spec: &str) -> Option<PluginInfo> {
        let snapshot = self.snapshot.load();
        let (name, version) = match spec.split_once('@') {
            Some((name, version)) => (name, Some(semver::Version::parse(version).ok()?)),
            None => (spec, None),
        };
        let versions = snapshot.get(name);
        let entry = match &version {
            Some(version) => versions.and_then(|v| v.get(version)),
            None => versions.and_then(|v| v.values().rev().find(|e| e.enabled)),
        };
        entry.map(info).or_else(|| {
            self.builtin(name, version.as_ref())
                .map(|plugin| builtin_info(plugin))
        })
    }

    /// Installs a plugin from its manifest text and component bytes: compiled, checked and
    /// trial-instantiated first, then written into the plugins directory by rename, then
    /// swapped in. With `replace`, an installed plugin of the same `name@version` is replaced.
    pub fn install(
        &self,
        manifest_toml: &str,
        wasm: &[u8],
        replace: bool,
    ) -> Result<PluginInfo, LoadError> {
        let manifest = Manifest::parse(manifest_toml)?;
        let plugin = LoadedPlugin::load(manifest.clone(), wasm, &self.engine, &self.services)
            .inspect_err(|e| load_failed(&manifest.id(), e))?;
        let _guard = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let id = manifest.id();
        let target = self.dir.join(&id);
        if target.exists() && !replace {
            return Err(LoadError::AlreadyInstalled(id));
        }
        let io = |source: std::io::Error| LoadError::Io {
            path: target.clone(),
            source,
        };
        let staging = self
            .dir
            .join(format!(".staging-{}-{}", id, std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io)?;
        let mut on_disk = manifest.clone();
        on_disk.component = "plugin.wasm".to_owned();
        let written = std::fs::write(staging.join("plugin.wasm"), wasm)
            .and_then(|()| std::fs::write(staging.join("plugin.toml"), on_disk.to_toml()));
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(io(e));
        }
        if target.exists() {
            let trash = self
                .dir
                .join(format!(".trash-{}-{}", id, std::process::id()));
            std::fs::rename(&target, &trash).map_err(io)?;
            let _ = std::fs::remove_dir_all(&trash);
        }
        std::fs::rename(&staging, &target).map_err(io)?;
        let entry = Entry {
            plugin: Arc::new(plugin),
            enabled: true,
            dir: target,
        };
        let info = info(&entry);
        self.swap_in(entry);
        Ok(info)
    }

    /// Enables or disables `name@version`. Returns `false` if there is no such plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> std::io::Result<bool> {
        let _guard = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = Snapshot::clone(&self.snapshot.load());
        let Some(entry) = find_mut(&mut snapshot, id) else {
            return Ok(false);
        };
        let marker = entry.dir.join(DISABLED_MARKER);
        if enabled {
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        } else {
            std::fs::write(&marker, b"")?;
        }
        entry.enabled = enabled;
        self.snapshot.store(Arc::new(snapshot));
        tracing::info!(plugin = id, enabled, "plugin state changed");
        Ok(true)
    }

    /// Removes `name@version` from the registry and the plugins directory. In-flight calls
    /// finish on it. Returns `false` if there is no such plugin.
    pub fn remove(&self, id: &str) -> std::io::Result<bool> {
        let _guard = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = Snapshot::clone(&self.snapshot.load());
        let Some(entry) = find_mut(&mut snapshot, id) else {
            return Ok(false);
        };
        let dir = entry.dir.clone();
        let (name, version) = (
            entry.plugin.manifest().name.clone(),
            entry.plugin.manifest().version.clone(),
        );
        let trash = self
            .dir
            .join(format!(".trash-{}-{}", id, std::process::id()));
        std::fs::rename(&dir, &trash)?;
        let _ = std::fs::remove_dir_all(&trash);
        if let Some(versions) = snapshot.get_mut(&name) {
            versions.remove(&version);
            if versions.is_empty() {
                snapshot.remove(&name);
            }
        }
        self.snapshot.store(Arc::new(snapshot));
        metrics::counter!("mantle_plugin_removals_total").increment(1);
        tracing::info!(plugin = id, "plugin removed");
        Ok(true)
    }

    /// Brings the registry in line with the plugins directory: loads new or changed plugin
    /// folders, drops vanished ones. A folder that fails to load leaves the running version.
    pub fn rescan(&self) {
        let _guard = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = Snapshot::clone(&self.snapshot.load());
        let mut seen = Vec::new();
        let dirs = match std::fs::read_dir(&self.dir) {
            Ok(dirs) => dirs,
            Err(error) => {
                tracing::error!(dir = %self.dir.display(), %error, "cannot read plugins directory");
                return;
            }
        };
        for dir in dirs.flatten() {
            let path = dir.path();
            let hidden = dir.file_name().to_string_lossy().starts_with('.');
            if hidden || !path.join("plugin.toml").is_file() {
                continue;
            }
            seen.push(path.clone());
            let enabled = !path.join(DISABLED_MARKER).exists();
            match self.load_if_changed(&snapshot, &path) {
                Ok(Some(plugin)) => {
                    let manifest = plugin.manifest();
                    let versions = snapshot.entry(manifest.name.clone()).or_default();
                    let version = manifest.version.clone();
                    swap_metrics(versions, &plugin);
                    versions.insert(
                        version,
                        Entry {
                            plugin,
                            enabled,
                            dir: path,
                        },
                    );
                }
                Ok(None) => {
                    if let Some(entry) = snapshot
                        .values_mut()
                        .flat_map(|v| v.values_mut())
                        .find(|e| e.dir == path)
                    {
                        entry.enabled = enabled;
                    }
                }
                Err(error) => load_failed(&path.display().to_string(), &error),
            }
        }
        for versions in snapshot.values_mut() {
            versions.retain(|_, entry| {
                let keep = seen.contains(&entry.dir);
                if !keep {
                    tracing::info!(
                        plugin = entry.plugin.id(),
                        "plugin folder removed; unloading"
                    );
                }
                keep
            });
        }
        snapshot.retain(|_, versions| !versions.is_empty());
        self.snapshot.store(Arc::new(snapshot));
    }

    /// Loads the plugin in `path` unless the snapshot already has this exact component there.
    fn load_if_changed(
        &self,
        snapshot: &Snapshot,
        path: &Path,
    ) -> Result<Option<Arc<LoadedPlugin>>, LoadError> {
        let manifest = Manifest::load(&path.join("plugin.toml"))?;
        let wasm_path = path.join(&manifest.component);
        let wasm = std::fs::read(&wasm_path).map_err(|source| LoadError::Io {
            path: wasm_path,
            source,
        })?;
        let current = snapshot
            .get(&manifest.name)
            .and_then(|versions| versions.get(&manifest.version));
        if let Some(current) = current
            && current.plugin.digest() == digest(&wasm)
            && current.plugin.manifest() == &manifest
        {
            return Ok(None);
        }
        LoadedPlugin::load(manifest, &wasm, &self.engine, &self.services)
            .map(|plugin| Some(Arc::new(plugin)))
    }

    fn swap_in(&self, entry: Entry) {
        let mut snapshot = Snapshot::clone(&self.snapshot.load());
        let manifest = entry.plugin.manifest();
        let versions = snapshot.entry(manifest.name.clone()).or_default();
        swap_metrics(versions, &entry.plugin);
        versions.insert(manifest.version.clone(), entry);
        self.snapshot.store(Arc::new(snapshot));
    }
}

fn swap_metrics(versions: &BTreeMap<semver::Version, Entry>, plugin: &LoadedPlugin) {
    metrics::counter!("mantle_plugin_loads_total", "plugin" => plugin.id().to_owned()).increment(1);
    if !versions.is_empty() {
        metrics::counter!("mantle_plugin_swaps_total", "plugin" => plugin.manifest().name.clone())
            .increment(1);
        tracing::info!(plugin = plugin.id(), "plugin swapped in");
    }
}

fn load_failed(what: &str, error: &LoadError) {
    metrics::counter!("mantle_plugin_load_failures_total").increment(1);
    tracing::error!(plugin = what, %error, "plugin failed to load");
}

fn find_mut<'a>(snapshot: &'a mut Snapshot, id: &str) -> Option<&'a mut Entry> {
    let (name, version) = id.split_once('@')?;
    let version = semver::Version::parse(version).ok()?;
    snapshot.get_mut(name)?.get_mut(&version)
}

fn info(entry: &Entry) -> PluginInfo {
    PluginInfo {
        enabled: entry.enabled,
        ..plugin_info(&entry.plugin, PluginSource::Installed)
    }
}

fn builtin_info(plugin: &LoadedPlugin) -> PluginInfo {
    plugin_info(plugin, PluginSource::Builtin)
}

fn plugin_info(plugin: &LoadedPlugin, source: PluginSource) -> PluginInfo {
    let manifest = plugin.manifest();
    PluginInfo {
        id: manifest.id(),
        source,
        name: manifest.name.clone(),
        version: manifest.version.to_string(),
        kind: manifest.kind,
        wit: manifest.wit.clone(),
        description: manifest.description.clone(),
        enabled: true,
        digest: plugin.digest().to_owned(),
        capabilities: manifest.capabilities.clone(),
        limits: manifest.limits,
    }
}
