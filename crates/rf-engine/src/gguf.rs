//! GGUF (v2/v3) reader with dequantisation of the common llama.cpp block formats.
//!
//! The file is parsed from bytes (the browser hands bytes); every offset and length is
//! checked before use, so a truncated or corrupt file gives [`EngineError::Gguf`], never a panic.
use std::collections::BTreeMap;

use half::f16;

use crate::error::{EngineError, Result};
use crate::weights::HostTensor;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Bounds on counts read from the header, so a corrupt count cannot trigger a huge allocation.
const MAX_COUNT: u64 = 1 << 24;
const MAX_DIMS: u32 = 4;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<MetaValue>),
}

/// The ggml tensor encodings this reader knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
    Other(u32),
}

impl GgmlType {
    fn from_id(id: u32) -> Self {
        match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::BF16,
            other => Self::Other(other),
        }
    }

    /// (elements per block, bytes per block); `None` for encodings we cannot decode.
    fn block_layout(self) -> Option<(usize, usize)> {
        Some(match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::BF16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q4K => (256, 144),
            Self::Q5K => (256, 176),
            Self::Q6K => (256, 210),
            Self::Other(_) => return None,
        })
    }

    /// Display name, as llama.cpp writes it.
    pub fn name(self) -> String {
        match self {
            Self::F32 => "F32".into(),
            Self::F16 => "F16".into(),
            Self::BF16 => "BF16".into(),
            Self::Q4_0 => "Q4_0".into(),
            Self::Q4_1 => "Q4_1".into(),
            Self::Q5_0 => "Q5_0".into(),
            Self::Q5_1 => "Q5_1".into(),
            Self::Q8_0 => "Q8_0".into(),
            Self::Q4K => "Q4_K".into(),
            Self::Q5K => "Q5_K".into(),
            Self::Q6K => "Q6_K".into(),
            Self::Other(id) => format!("ggml type {id}"),
        }
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Shape in row-major order (outermost first), i.e. GGUF's `ne` reversed.
    pub shape: Vec<usize>,
    pub kind: GgmlType,
    offset: usize,
}

/// A parsed GGUF file holding its bytes.
pub struct GgufFile {
    bytes: Vec<u8>,
    pub version: u32,
    pub metadata: BTreeMap<String, MetaValue>,
    pub tensors: BTreeMap<String, TensorInfo>,
    data_start: usize,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            EngineError::Gguf(format!(
                "file is truncated: needed {n} bytes at offset {} of {}",
                self.pos,
                self.bytes.len()
            ))
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn count(&mut self, what: &str) -> Result<usize> {
        let n = self.u64()?;
        if n > MAX_COUNT {
            return Err(EngineError::Gguf(format!("implausible {what} count {n}")));
        }
        Ok(n as usize)
    }
    fn string(&mut self) -> Result<String> {
        let len = self.u64()?;
        if len > self.bytes.len() as u64 {
            return Err(EngineError::Gguf(format!("string length {len} exceeds the file size")));
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec()).map_err(|_| EngineError::Gguf("string is not UTF-8".into()))
    }
    fn value(&mut self, kind: u32, depth: u32) -> Result<MetaValue> {
        Ok(match kind {
            0 => MetaValue::UInt(self.array::<1>()?[0] as u64),
            1 => MetaValue::Int(self.array::<1>()?[0] as i8 as i64),
            2 => MetaValue::UInt(u16::from_le_bytes(self.array()?) as u64),
            3 => MetaValue::Int(i16::from_le_bytes(self.array()?) as i64),
            4 => MetaValue::UInt(self.u32()? as u64),
            5 => MetaValue::Int(i32::from_le_bytes(self.array()?) as i64),
            6 => MetaValue::Float(f32::from_le_bytes(self.array()?) as f64),
            7 => MetaValue::Bool(self.array::<1>()?[0] != 0),
            8 => MetaValue::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err(EngineError::Gguf("metadata arrays nested too deeply".into()));
                }
                let item_kind = self.u32()?;
                let n = self.count("array")?;
                let mut items = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    items.push(self.value(item_kind, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            10 => MetaValue::UInt(self.u64()?),
            11 => MetaValue::Int(i64::from_le_bytes(self.array()?)),
            12 => MetaValue::Float(f64::from_le_bytes(self.array()?)),
            other => return Err(EngineError::Gguf(format!("unknown metadata value type {other}"))),
        })
    }
}

impl GgufFile {
    /// Parses the header, metadata and tensor table, and checks that every tensor's data lies
    /// inside the file.
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        let mut cur = Cursor { bytes: &bytes, pos: 0 };
        if cur.take(4)? != MAGIC {
            return Err(EngineError::Gguf("bad magic: not a GGUF file".into()));
        }
        let version = cur.u32()?;
        if !(2..=3).contains(&version) {
            return Err(EngineError::Gguf(format!("unsupported GGUF version {version}")));
        }
        let n_tensors = cur.count("tensor")?;
        let n_meta = cur.count("metadata")?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_meta {
            let key = cur.string()?;
            let kind = cur.u32()?;
            let value = cur.value(kind, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = BTreeMap::new();
        for _ in 0..n_tensors {
            let name = cur.string()?;
            let n_dims = cur.u32()?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(EngineError::Gguf(format!("tensor '{name}' has {n_dims} dimensions")));
            }
            let mut shape = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                let d = cur.u64()?;
                if d == 0 || d > u32::MAX as u64 {
                    return Err(EngineError::Gguf(format!("tensor '{name}' has dimension {d}")));
                }
                shape.push(d as usize);
            }
            shape.reverse();
            let kind = GgmlType::from_id(cur.u32()?);
            let offset = cur.u64()?;
            if offset > bytes.len() as u64 {
                return Err(EngineError::Gguf(format!("tensor '{name}' offset beyond end of file")));
            }
            tensors.insert(name, TensorInfo { shape, kind, offset: offset as usize });
        }
        let alignment = match metadata.get("general.alignment") {
            Some(MetaValue::UInt(a)) if *a > 0 && a.is_power_of_two() => *a,
            Some(_) => return Err(EngineError::Gguf("general.alignment is not a power of two".into())),
            None => DEFAULT_ALIGNMENT,
        };
        let data_start = (cur.pos as u64).div_ceil(alignment) * alignment;
        let file = GgufFile { version, metadata, tensors, data_start: data_start as usize, bytes };
        for (name, info) in &file.tensors {
            file.tensor_bytes(name, info)?;
        }
        Ok(file)
    }

    fn tensor_bytes(&self, name: &str, info: &TensorInfo) -> Result<&[u8]> {
        let elements: usize = info.shape.iter().product();
        let (block, block_bytes) = info.kind.block_layout().ok_or_else(|| EngineError::UnsupportedQuant {
            name: name.to_string(),
            kind: info.kind.name(),
        })?;
        if elements % block != 0 {
            return Err(EngineError::Gguf(format!(
                "tensor '{name}' has {elements} elements, not a multiple of the {} block size {block}",
                info.kind.name()
            )));
        }
        let len = elements / block * block_bytes;
        let start = self.data_start.checked_add(info.offset);
        match start.and_then(|s| s.checked_add(len).map(|e| (s, e))) {
            Some((s, e)) if e <= self.bytes.len() => Ok(&self.bytes[s..e]),
            _ => Err(EngineError::Gguf(format!(
                "file is truncated: tensor '{name}' ({len} bytes) runs past the end of the file"
            ))),
        }
    }

    /// Whether a tensor of that name exists.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// One tensor's type, shape and raw (still quantised) bytes.
    pub fn tensor_raw(&self, name: &str) -> Result<(GgmlType, &[usize], &[u8])> {
        let info = self
            .tensors
            .get(name)
            .ok_or_else(|| EngineError::MissingWeight(name.to_string()))?;
        Ok((info.kind, &info.shape, self.tensor_bytes(name, info)?))
    }

    /// Dequantises one tensor to f32.
    pub fn tensor_f32(&self, name: &str) -> Result<HostTensor> {
        let info = self
            .tensors
            .get(name)
            .ok_or_else(|| EngineError::MissingWeight(name.to_string()))?;
        let raw = self.tensor_bytes(name, info)?;
        let data = dequantize(info.kind, raw);
        Ok(HostTensor { shape: info.shape.clone(), data })
    }

    fn meta(&self, key: &str) -> Result<&MetaValue> {
        self.metadata
            .get(key)
            .ok_or_else(|| EngineError::Gguf(format!("metadata key '{key}' is missing")))
    }

    /// A string metadata value.
    pub fn metadata_str(&self, key: &str) -> Result<&str> {
        match self.meta(key)? {
            MetaValue::Str(s) => Ok(s),
            _ => Err(EngineError::Gguf(format!("metadata key '{key}' is not a string"))),
        }
    }

    /// A non-negative integer metadata value.
    pub fn metadata_usize(&self, key: &str) -> Result<usize> {
        match self.meta(key)? {
            MetaValue::UInt(v) => Ok(*v as usize),
            MetaValue::Int(v) if *v >= 0 => Ok(*v as usize),
            _ => Err(EngineError::Gguf(format!("metadata key '{key}' is not a non-negative integer"))),
        }
    }

    /// A numeric metadata value as f64.
    pub fn metadata_f64(&self, key: &str) -> Result<f64> {
        match self.meta(key)? {
            MetaValue::Float(v) => Ok(*v),
            MetaValue::UInt(v) => Ok(*v as f64),
            MetaValue::Int(v) => Ok(*v as f64),
            _ => Err(EngineError::Gguf(format!("metadata key '{key}' is not a number"))),
        }
    }

    /// An array metadata value.
    pub fn metadata_array(&self, key: &str) -> Result<&[MetaValue]> {
        match self.meta(key)? {
            MetaValue::Array(items) => Ok(items),
            _ => Err(EngineError::Gguf(format!("metadata key '{key}' is not an array"))),
        }
    }

    /// Length of an array metadata value.
    pub fn metadata_array_len(&self, key: &str) -> Result<usize> {
        self.metadata_array(key).map(<[MetaValue]>::len)
    }
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Decodes `raw`, whose length was already checked against the block layout of `kind`.
fn dequantize(kind: GgmlType, raw: &[u8]) -> Vec<f32> {
    match kind {
        GgmlType::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        GgmlType::F16 => raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        GgmlType::BF16 => raw
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        GgmlType::Q4_0 => per_block(raw, 18, 32, |b, out| {
            let d = f16_at(b, 0);
            for j in 0..16 {
                out[j] = ((b[2 + j] & 0x0f) as i32 - 8) as f32 * d;
                out[j + 16] = ((b[2 + j] >> 4) as i32 - 8) as f32 * d;
            }
        }),
        GgmlType::Q4_1 => per_block(raw, 20, 32, |b, out| {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            for j in 0..16 {
                out[j] = (b[4 + j] & 0x0f) as f32 * d + m;
                out[j + 16] = (b[4 + j] >> 4) as f32 * d + m;
            }
        }),
        GgmlType::Q5_0 | GgmlType::Q5_1 => {
            let (block_bytes, has_min) = if kind == GgmlType::Q5_0 { (22, false) } else { (24, true) };
            per_block(raw, block_bytes, 32, |b, out| {
                let d = f16_at(b, 0);
                let (m, qh_at) = if has_min { (f16_at(b, 2), 4) } else { (0.0, 2) };
                let qh = u32::from_le_bytes([b[qh_at], b[qh_at + 1], b[qh_at + 2], b[qh_at + 3]]);
                let qs = &b[qh_at + 4..];
                let offset = if has_min { 0 } else { 16 };
                for j in 0..16 {
                    let high0 = ((qh >> j) << 4) & 0x10;
                    let high1 = (qh >> (j + 12)) & 0x10;
                    let q0 = ((qs[j] & 0x0f) as u32 | high0) as i32 - offset;
                    let q1 = ((qs[j] >> 4) as u32 | high1) as i32 - offset;
                    out[j] = q0 as f32 * d + m;
                    out[j + 16] = q1 as f32 * d + m;
                }
            })
        }
        GgmlType::Q8_0 => per_block(raw, 34, 32, |b, out| {
            let d = f16_at(b, 0);
            for j in 0..32 {
                out[j] = (b[2 + j] as i8) as f32 * d;
            }
        }),
        GgmlType::Q4K => per_block(raw, 144, 256, |b, out| {
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let scales = &b[4..16];
            let qs = &b[16..144];
            for chunk in 0..4 {
                let (sc1, m1) = k_scale_min(2 * chunk, scales);
                let (sc2, m2) = k_scale_min(2 * chunk + 1, scales);
                let q = &qs[32 * chunk..32 * chunk + 32];
                let y = &mut out[64 * chunk..64 * chunk + 64];
                for l in 0..32 {
                    y[l] = d * sc1 as f32 * (q[l] & 0x0f) as f32 - dmin * m1 as f32;
                    y[l + 32] = d * sc2 as f32 * (q[l] >> 4) as f32 - dmin * m2 as f32;
                }
            }
        }),
        GgmlType::Q5K => per_block(raw, 176, 256, |b, out| {
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let scales = &b[4..16];
            let qh = &b[16..48];
            let qs = &b[48..176];
            for chunk in 0..4 {
                let (sc1, m1) = k_scale_min(2 * chunk, scales);
                let (sc2, m2) = k_scale_min(2 * chunk + 1, scales);
                let (u1, u2) = (1u8 << (2 * chunk), 2u8 << (2 * chunk));
                let q = &qs[32 * chunk..32 * chunk + 32];
                let y = &mut out[64 * chunk..64 * chunk + 64];
                for l in 0..32 {
                    let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                    let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                    y[l] = d * sc1 as f32 * ((q[l] & 0x0f) + h1) as f32 - dmin * m1 as f32;
                    y[l + 32] = d * sc2 as f32 * ((q[l] >> 4) + h2) as f32 - dmin * m2 as f32;
                }
            }
        }),
        GgmlType::Q6K => per_block(raw, 210, 256, |b, out| {
            let ql_all = &b[0..128];
            let qh_all = &b[128..192];
            let sc_all = &b[192..208];
            let d = f16_at(b, 208);
            for half_block in 0..2 {
                let ql = &ql_all[64 * half_block..];
                let qh = &qh_all[32 * half_block..];
                let sc = &sc_all[8 * half_block..];
                let y = &mut out[128 * half_block..128 * half_block + 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                    y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                    y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                    y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
                }
            }
        }),
        GgmlType::Other(_) => Vec::new(),
    }
}

fn per_block(raw: &[u8], block_bytes: usize, block_len: usize, f: impl Fn(&[u8], &mut [f32])) -> Vec<f32> {
    let mut out = vec![0f32; raw.len() / block_bytes * block_len];
    for (b, o) in raw.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block_len)) {
        f(b, o);
    }
    out
}

/// The 6-bit scale and min of sub-block `j` in a K-quant super-block.
fn k_scale_min(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_block_decodes_scale_times_int8() {
        let mut block = f16::from_f32(0.5).to_le_bytes().to_vec();
        block.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let out = dequantize(GgmlType::Q8_0, &block);
        assert_eq!(out.len(), 32);
        assert_eq!(out[0], -8.0);
        assert_eq!(out[31], 7.5);
    }

    #[test]
    fn q4_0_block_uses_low_nibbles_first() {
        let mut block = f16::from_f32(2.0).to_le_bytes().to_vec();
        block.extend([0x9Fu8; 16]); // low nibble 15, high nibble 9
        let out = dequantize(GgmlType::Q4_0, &block);
        assert_eq!(out[0], 14.0);
        assert_eq!(out[16], 2.0);
    }

    #[test]
    fn k_scale_min_reads_packed_high_bits() {
        let mut q = [0u8; 12];
        q[0] = 0b1100_0001; // sc0 = 1, top bits feed sc4
        q[4] = 0b0100_0010; // m0 = 2, top bits feed m4
        q[8] = 0x35; // sc4 low = 5, m4 low = 3
        assert_eq!(k_scale_min(0, &q), (1, 2));
        assert_eq!(k_scale_min(4, &q), (5 | (3 << 4), 3 | (1 << 4)));
    }
}
