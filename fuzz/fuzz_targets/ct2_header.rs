//! A CTranslate2 `model.bin` through the importer's reader (header, spec, variable index).
//! The reader takes a path, so each input is written to a file of this process's own.
#![no_main]

use hotline::transcribe::ct2::Ct2Model;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("hotline-fuzz-ct2-{}.bin", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    if let Ok(model) = Ct2Model::open(path) {
        let _ = model.variable("model/layer_norm/gamma");
        let _ = model.f32s("model/layer_norm/gamma");
        let _ = model.f16s("model/layer_norm/gamma");
        let _ = model.scalar("model/spec/num_heads");
    }
});
