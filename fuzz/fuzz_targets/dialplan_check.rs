//! A dialplan file through the checker (`hotline dialplan check`), against the bundled prompts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn prompts() -> &'static Path {
    static PROMPTS: OnceLock<PathBuf> = OnceLock::new();
    PROMPTS.get_or_init(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../prompts"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(report) = hotline::ivr::check_str(text, Path::new("fuzz.toml"), prompts()) {
        // The report is what a user reads: rendering it must not panic either.
        let _ = report.to_string();
    }
});
