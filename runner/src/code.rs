//! Deployment zips, matched to functions by their SHA-256 (Lambda's `CodeSha256`: base64 of the zip's digest).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The zips found in the code directories, by `CodeSha256`.
#[derive(Debug, Default)]
pub struct CodeIndex {
    zips: HashMap<String, PathBuf>,
}

/// Lambda's `CodeSha256` of a zip's bytes.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

impl CodeIndex {
    pub fn scan(dirs: &[PathBuf]) -> anyhow::Result<Self> {
        let mut zips = HashMap::new();
        for dir in dirs {
            let entries =
                fs::read_dir(dir).with_context(|| format!("reading code dir {}", dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "zip") {
                    let bytes =
                        fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                    zips.insert(code_sha256(&bytes), path);
                }
            }
        }
        Ok(Self { zips })
    }

    pub fn find(&self, code_sha256: &str) -> Option<&Path> {
        self.zips.get(code_sha256).map(PathBuf::as_path)
    }
}

/// Unpacks a zip into `dir` (emptied first), as Lambda unpacks it into `/var/task`; returns `dir`. The
/// `bootstrap` file must be there: a `provided.al2023` function has no other entry point.
pub fn unpack(zip: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    fs::create_dir_all(dir)?;
    let file = fs::File::open(zip).with_context(|| format!("opening {}", zip.display()))?;
    let mut archive =
        zip::ZipArchive::new(file).with_context(|| format!("{} is not a zip", zip.display()))?;
    archive
        .extract(dir)
        .with_context(|| format!("unpacking {}", zip.display()))?;
    let bootstrap = dir.join("bootstrap");
    anyhow::ensure!(
        bootstrap.is_file(),
        "{} has no `bootstrap` file at its root",
        zip.display()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&bootstrap, fs::Permissions::from_mode(0o755))?;
    }
    Ok(dir.to_path_buf())
}
