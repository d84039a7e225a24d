//! `hotline model import`: a CTranslate2 Whisper model → the ggml file whisper.cpp loads.
//!
//! Hyper-parameters come from the weights themselves, the mel filters are computed, the
//! vocabulary is turned back into bytes, and the fused attention projections of CTranslate2 are
//! split into whisper.cpp's query/key/value tensors.

use super::ct2::{Ct2Error, Ct2Model};
use super::mel;
use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Why a model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Ct2(#[from] Ct2Error),
    #[error("{path} is missing: {hint}")]
    Missing { path: PathBuf, hint: String },
    #[error("{path}: {reason}")]
    Vocabulary { path: PathBuf, reason: String },
    #[error("the key projection of {tensor} has a non-zero bias; this is not a Whisper model whisper.cpp can run")]
    KeyBias { tensor: String },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub n_vocab: usize,
    pub width: usize,
    pub heads: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub tokens_written: usize,
    pub tensors: usize,
    pub multilingual: bool,
}

/// GPT-2's byte ↔ printable-character table, inverted: character → byte.
fn byte_decoder() -> std::collections::HashMap<char, u8> {
    let mut bytes: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars = bytes.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bytes.contains(&b) {
            bytes.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    chars
        .into_iter()
        .zip(bytes)
        .map(|(c, b)| (char::from_u32(c).expect("valid"), b as u8))
        .collect()
}

/// The ordinary tokens (ids below `<|endoftext|>`) as bytes; whisper.cpp makes the special ones.
fn read_vocabulary(path: &Path) -> Result<Vec<Vec<u8>>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|_| ImportError::Missing {
        path: path.to_path_buf(),
        hint: "the CTranslate2 model directory must hold vocabulary.txt".into(),
    })?;
    let decoder = byte_decoder();
    let mut tokens = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line == "<|endoftext|>" {
            return Ok(tokens);
        }
        let bytes: Option<Vec<u8>> = line.chars().map(|c| decoder.get(&c).copied()).collect();
        match bytes {
            Some(b) => tokens.push(b),
            None => {
                return Err(ImportError::Vocabulary {
                    path: path.to_path_buf(),
                    reason: format!("line {}: `{line}` is not GPT-2 byte-level text", i + 1),
                })
            }
        }
    }
    Err(ImportError::Vocabulary {
        path: path.to_path_buf(),
        reason: "no <|endoftext|> token".into(),
    })
}

struct GgmlWriter<W: Write> {
    out: W,
    tensors: usize,
}

impl<W: Write> GgmlWriter<W> {
    fn i32(&mut self, v: i32) -> std::io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }

    /// One tensor: dims innermost first (the reverse of the row-major shape).
    fn tensor_header(&mut self, name: &str, shape: &[usize], ftype: i32) -> std::io::Result<()> {
        self.i32(shape.len() as i32)?;
        self.i32(name.len() as i32)?;
        self.i32(ftype)?;
        for d in shape.iter().rev() {
            self.i32(*d as i32)?;
        }
        self.out.write_all(name.as_bytes())?;
        self.tensors += 1;
        Ok(())
    }

    fn f32_tensor(&mut self, name: &str, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
        self.tensor_header(name, shape, 0)?;
        for v in data {
            self.out.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    fn f16_tensor(&mut self, name: &str, shape: &[usize], data: &[u16]) -> std::io::Result<()> {
        self.tensor_header(name, shape, 1)?;
        for v in data {
            self.out.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }
}

/// Locates `model.bin` in a CTranslate2 directory, joining `model.bin.part1` + `.part2` (as the
/// PyPI packages ship it) into `model.bin` first when needed.
pub fn model_file(dir: &Path) -> Result<PathBuf, ImportError> {
    let whole = dir.join("model.bin");
    if whole.is_file() {
        return Ok(whole);
    }
    let (p1, p2) = (dir.join("model.bin.part1"), dir.join("model.bin.part2"));
    match (p1.is_file(), p2.is_file()) {
        (false, false) => Err(ImportError::Missing {
            path: whole,
            hint: "expected model.bin, or model.bin.part1 and model.bin.part2 (run `hotline model fetch base`)".into(),
        }),
        (true, false) => Err(ImportError::Missing {
            path: p2,
            hint: "the second half of the model; run `hotline model fetch base`".into(),
        }),
        (false, true) => Err(ImportError::Missing {
            path: p1,
            hint: "the first half of the model; run `hotline model fetch base`".into(),
        }),
        (true, true) => {
            let write_err = |source| ImportError::Write { path: whole.clone(), source };
            let tmp = dir.join("model.bin.joining");
            let mut out = std::fs::File::create(&tmp).map_err(write_err)?;
            for part in [&p1, &p2] {
                let mut f = std::fs::File::open(part).map_err(write_err)?;
                std::io::copy(&mut f, &mut out).map_err(write_err)?;
            }
            out.sync_all().map_err(write_err)?;
            std::fs::rename(&tmp, &whole).map_err(write_err)?;
            Ok(whole)
        }
    }
}

/// Converts the CTranslate2 Whisper model in `ct2_dir` to a ggml file at `out`.
pub fn import_ct2(ct2_dir: &Path, out: &Path) -> Result<ImportSummary, ImportError> {
    let model = Ct2Model::open(&model_file(ct2_dir)?)?;
    let tokens = read_vocabulary(&ct2_dir.join("vocabulary.txt"))?;
    let layers = |prefix: &str| {
        model
            .variables
            .keys()
            .filter_map(|k| k.strip_prefix(prefix)?.strip_prefix("layer_"))
            .filter_map(|rest| rest.split('/').next()?.parse::<usize>().ok())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let (enc_layers, dec_layers) = (layers("encoder/"), layers("decoder/"));
    let embedding = model.variable("decoder/embeddings/weight")?;
    let (n_vocab, width) = (embedding.shape[0], embedding.shape[1]);
    let heads = model.scalar("encoder/num_heads")? as usize;
    let text_heads = model.scalar("decoder/num_heads")? as usize;
    let audio_ctx = model
        .variable("encoder/position_encodings/encodings")?
        .shape[0];
    let text_ctx = model
        .variable("decoder/position_encodings/encodings")?
        .shape[0];

    let tmp = out.with_extension("importing");
    let write_err = |source| ImportError::Write {
        path: out.to_path_buf(),
        source,
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let file = std::fs::File::create(&tmp).map_err(write_err)?;
    let mut w = GgmlWriter {
        out: BufWriter::new(file),
        tensors: 0,
    };
    let result = write_model(
        &mut w,
        &model,
        &tokens,
        [
            n_vocab, audio_ctx, width, heads, enc_layers, text_ctx, width, text_heads, dec_layers,
        ],
    );
    match result {
        Ok(()) => {}
        Err(WriteFailure::Io(e)) => return Err(write_err(e)),
        Err(WriteFailure::Import(e)) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    let tensors = w.tensors;
    w.out
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?
        .sync_all()
        .map_err(write_err)?;
    std::fs::rename(&tmp, out).map_err(write_err)?;
    Ok(ImportSummary {
        n_vocab,
        width,
        heads,
        encoder_layers: enc_layers,
        decoder_layers: dec_layers,
        tokens_written: tokens.len(),
        tensors,
        // whisper.cpp decides this from n_vocab, so the embedding's own row count is written.
        multilingual: n_vocab >= 51865,
    })
}

enum WriteFailure {
    Io(std::io::Error),
    Import(ImportError),
}

impl From<std::io::Error> for WriteFailure {
    fn from(e: std::io::Error) -> Self {
        WriteFailure::Io(e)
    }
}

impl From<Ct2Error> for WriteFailure {
    fn from(e: Ct2Error) -> Self {
        WriteFailure::Import(e.into())
    }
}

fn write_model<W: Write>(
    w: &mut GgmlWriter<W>,
    m: &Ct2Model,
    tokens: &[Vec<u8>],
    h: [usize; 9],
) -> Result<(), WriteFailure> {
    const MAGIC: i32 = 0x6767_6d6c;
    w.i32(MAGIC)?;
    let [n_vocab, audio_ctx, width, heads, enc_layers, text_ctx, text_width, text_heads, dec_layers] =
        h;
    for v in [
        n_vocab,
        audio_ctx,
        width,
        heads,
        enc_layers,
        text_ctx,
        text_width,
        text_heads,
        dec_layers,
        mel::N_MELS,
        1,
    ] {
        w.i32(v as i32)?;
    }
    w.i32(mel::N_MELS as i32)?;
    w.i32(mel::N_FFT_BINS as i32)?;
    for v in mel::filters() {
        w.out.write_all(&v.to_le_bytes())?;
    }
    w.i32(tokens.len() as i32)?;
    for t in tokens {
        w.i32(t.len() as i32)?;
        w.out.write_all(t)?;
    }

    let d = width;
    // Positional embeddings and every 1-D tensor stay f32; matrices are f16.
    w.f32_tensor(
        "encoder.positional_embedding",
        &[audio_ctx, d],
        &m.f32s("encoder/position_encodings/encodings")?,
    )?;
    for conv in ["conv1", "conv2"] {
        let weight = m.variable(&format!("encoder/{conv}/weight"))?.shape.clone();
        w.f16_tensor(
            &format!("encoder.{conv}.weight"),
            &weight,
            &m.f16s(&format!("encoder/{conv}/weight"))?,
        )?;
        w.f32_tensor(
            &format!("encoder.{conv}.bias"),
            &[d, 1],
            &m.f32s(&format!("encoder/{conv}/bias"))?,
        )?;
    }
    for n in 0..enc_layers {
        let src = format!("encoder/layer_{n}");
        let dst = format!("encoder.blocks.{n}");
        self_attention_block(w, m, &src, &dst, d)?;
        feed_forward_block(w, m, &src, &dst)?;
    }
    layer_norm(w, m, "encoder/layer_norm", "encoder.ln_post")?;

    w.f32_tensor(
        "decoder.positional_embedding",
        &[text_ctx, d],
        &m.f32s("decoder/position_encodings/encodings")?,
    )?;
    w.f16_tensor(
        "decoder.token_embedding.weight",
        &[n_vocab, d],
        &m.f16s("decoder/embeddings/weight")?,
    )?;
    for n in 0..dec_layers {
        let src = format!("decoder/layer_{n}");
        let dst = format!("decoder.blocks.{n}");
        self_attention_block(w, m, &src, &dst, d)?;
        layer_norm(
            w,
            m,
            &format!("{src}/attention/layer_norm"),
            &format!("{dst}.cross_attn_ln"),
        )?;
        linear(
            w,
            m,
            &format!("{src}/attention/linear_0"),
            &format!("{dst}.cross_attn.query"),
        )?;
        // Cross-attention keys and values are stacked in one [2d, d] projection.
        let kv_w = m.f16s(&format!("{src}/attention/linear_1/weight"))?;
        let kv_b = m.f32s(&format!("{src}/attention/linear_1/bias"))?;
        check_key_bias(&kv_b[..d], &format!("{src}/attention/linear_1"))?;
        w.f16_tensor(
            &format!("{dst}.cross_attn.key.weight"),
            &[d, d],
            &kv_w[..d * d],
        )?;
        w.f16_tensor(
            &format!("{dst}.cross_attn.value.weight"),
            &[d, d],
            &kv_w[d * d..],
        )?;
        w.f32_tensor(&format!("{dst}.cross_attn.value.bias"), &[d], &kv_b[d..])?;
        linear(
            w,
            m,
            &format!("{src}/attention/linear_2"),
            &format!("{dst}.cross_attn.out"),
        )?;
        feed_forward_block(w, m, &src, &dst)?;
    }
    layer_norm(w, m, "decoder/layer_norm", "decoder.ln")?;
    Ok(())
}

fn layer_norm<W: Write>(
    w: &mut GgmlWriter<W>,
    m: &Ct2Model,
    src: &str,
    dst: &str,
) -> Result<(), WriteFailure> {
    let gamma = m.f32s(&format!("{src}/gamma"))?;
    let beta = m.f32s(&format!("{src}/beta"))?;
    w.f32_tensor(&format!("{dst}.weight"), &[gamma.len()], &gamma)?;
    w.f32_tensor(&format!("{dst}.bias"), &[beta.len()], &beta)?;
    Ok(())
}

fn linear<W: Write>(
    w: &mut GgmlWriter<W>,
    m: &Ct2Model,
    src: &str,
    dst: &str,
) -> Result<(), WriteFailure> {
    let shape = m.variable(&format!("{src}/weight"))?.shape.clone();
    w.f16_tensor(
        &format!("{dst}.weight"),
        &shape,
        &m.f16s(&format!("{src}/weight"))?,
    )?;
    let bias = m.f32s(&format!("{src}/bias"))?;
    w.f32_tensor(&format!("{dst}.bias"), &[bias.len()], &bias)?;
    Ok(())
}

/// A layer's self-attention with its layer norm, the same in encoder and decoder layers.
fn self_attention_block<W: Write>(
    w: &mut GgmlWriter<W>,
    m: &Ct2Model,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), WriteFailure> {
    layer_norm(
        w,
        m,
        &format!("{src}/self_attention/layer_norm"),
        &format!("{dst}.attn_ln"),
    )?;
    self_attention(
        w,
        m,
        &format!("{src}/self_attention"),
        &format!("{dst}.attn"),
        d,
    )
}

/// A layer's feed-forward network with its layer norm (whisper.cpp's `mlp.0` and `mlp.2`: the
/// GELU between them has no weights).
fn feed_forward_block<W: Write>(
    w: &mut GgmlWriter<W>,
    m: &Ct2Model,
    src: &str,
    dst: &str,
) -> Result<(), WriteFailure> {
    layer_norm(
        w,
        m,
        &format!("{src}/ffn/layer_norm"),
        &format!("{dst}.mlp_ln"),
    )?;
    linear(
        w,
        m,
        &format!("{src}/ffn/linear_0"),
        &format!("{dst}.mlp.0"),
    )?;
    linear(
        w,
        m,
        &format!("{src}/ffn/linear_1"),
        &format!("{dst}.mlp.2"),
    )
}

/// Query, key and value are stacked in that order in one [3d, d] projection; key has no bias.
fn self_attention<W: Write>(
    w: &mut GgmlWriter<W>,
    m: &Ct2Model,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), WriteFailure> {
    let weight = m.f16s(&format!("{src}/linear_0/weight"))?;
    let bias = m.f32s(&format!("{src}/linear_0/bias"))?;
    check_key_bias(&bias[d..2 * d], &format!("{src}/linear_0"))?;
    w.f16_tensor(&format!("{dst}.query.weight"), &[d, d], &weight[..d * d])?;
    w.f32_tensor(&format!("{dst}.query.bias"), &[d], &bias[..d])?;
    w.f16_tensor(
        &format!("{dst}.key.weight"),
        &[d, d],
        &weight[d * d..2 * d * d],
    )?;
    w.f16_tensor(
        &format!("{dst}.value.weight"),
        &[d, d],
        &weight[2 * d * d..],
    )?;
    w.f32_tensor(&format!("{dst}.value.bias"), &[d], &bias[2 * d..])?;
    linear(w, m, &format!("{src}/linear_1"), &format!("{dst}.out"))
}

fn check_key_bias(bias: &[f32], tensor: &str) -> Result<(), WriteFailure> {
    if bias.iter().any(|b| *b != 0.0) {
        return Err(WriteFailure::Import(ImportError::KeyBias {
            tensor: tensor.to_string(),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_vocabulary_decodes_to_bytes() {
        let d = byte_decoder();
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'a'], b'a');
        assert_eq!(d.len(), 256);
    }
}
