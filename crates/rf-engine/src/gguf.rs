//! GGUF (v2/v3) reader. Tensors are views of the file's bytes ([`GgufFile::tensor_bytes`]),
//! kept in their block format for [`rf_quant::QuantMatrix`], or dequantised to f32 for the
//! f32 reference path.
//!
//! The file is parsed from bytes (the browser hands bytes) or memory-mapped natively
//! ([`GgufFile::open`]); every offset and length is checked before use, so a truncated or
//! corrupt file gives [`EngineError::Gguf`], never a panic.
use std::collections::BTreeMap;

use half::f16;
use rf_quant::{QuantFormat, SharedBytes};

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
        match self {
            Self::F16 | Self::BF16 => Some((1, 2)),
            other => other.quant_format().map(QuantFormat::block_layout),
        }
    }

    /// The format a [`rf_quant::QuantMatrix`] keeps this encoding in; `None` for F16/BF16
    /// (widened to f32) and unknown encodings.
    pub fn quant_format(self) -> Option<QuantFormat> {
        Some(match self {
            Self::F32 => QuantFormat::F32,
            Self::Q4_0 => QuantFormat::Q4_0,
            Self::Q4_1 => QuantFormat::Q4_1,
            Self::Q5_0 => QuantFormat::Q5_0,
            Self::Q5_1 => QuantFormat::Q5_1,
            Self::Q8_0 => QuantFormat::Q8_0,
            Self::Q4K => QuantFormat::Q4K,
            Self::Q5K => QuantFormat::Q5K,
            Self::Q6K => QuantFormat::Q6K,
            Self::F16 | Self::BF16 | Self::Other(_) => return None,
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

/// A parsed GGUF file holding its bytes (in memory or memory-mapped).
pub struct GgufFile {
    bytes: SharedBytes,
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
        Self::parse_shared(bytes.into())
    }

    /// Memory-maps `path` and parses it: tensors stay in the page cache, shared with other
    /// processes reading the same file, and nothing is read until a layer needs it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let io = |source| EngineError::Io { path: path.display().to_string(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; a file truncated under us would fault, as with any
        // reader of a model file that is being rewritten.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::parse_shared(SharedBytes::new(std::sync::Arc::new(map)))
    }

    fn parse_shared(shared: SharedBytes) -> Result<Self> {
        let bytes = shared.as_slice();
        let mut cur = Cursor { bytes, pos: 0 };
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
        let file = GgufFile { version, metadata, tensors, data_start: data_start as usize, bytes: shared };
        for (name, info) in &file.tensors {
            file.tensor_range(name, info)?;
        }
        Ok(file)
    }

    /// Where a tensor's data lies in the file, checked against the file's length.
    fn tensor_range(&self, name: &str, info: &TensorInfo) -> Result<std::ops::Range<usize>> {
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
            Some((s, e)) if e <= self.bytes.len() => Ok(s..e),
            _ => Err(EngineError::Gguf(format!(
                "file is truncated: tensor '{name}' ({len} bytes) runs past the end of the file"
            ))),
        }
    }

    fn info(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors.get(name).ok_or_else(|| EngineError::MissingWeight(name.to_string()))
    }

    /// One tensor's data as a view that shares the file's bytes (no copy).
    pub fn tensor_bytes(&self, name: &str) -> Result<SharedBytes> {
        let range = self.tensor_range(name, self.info(name)?)?;
        self.bytes.slice(range).map_err(|e| EngineError::Gguf(e.to_string()))
    }

    /// Bytes of tensor data in the file (what one pass over every weight reads).
    pub fn tensor_data_bytes(&self) -> usize {
        self.tensors.iter().filter_map(|(n, i)| self.tensor_range(n, i).ok()).map(|r| r.len()).sum()
    }

    /// Whether a tensor of that name exists.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// One tensor's type, shape and raw (still quantised) bytes.
    pub fn tensor_raw(&self, name: &str) -> Result<(GgmlType, &[usize], &[u8])> {
        let info = self.info(name)?;
        let range = self.tensor_range(name, info)?;
        Ok((info.kind, &info.shape, &self.bytes.as_slice()[range]))
    }

    /// Dequantises one tensor to f32.
    pub fn tensor_f32(&self, name: &str) -> Result<HostTensor> {
        let (kind, shape, raw) = self.tensor_raw(name)?;
        Ok(HostTensor { shape: shape.to_vec(), data: dequantize(kind, raw) })
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

/// Decodes `raw`, whose length was already checked against the block layout of `kind`.
fn dequantize(kind: GgmlType, raw: &[u8]) -> Vec<f32> {
    match kind {
        GgmlType::F16 => raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        GgmlType::BF16 => raw
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => match other.quant_format() {
            Some(format) => {
                let (len, bytes) = format.block_layout();
                let mut out = vec![0f32; raw.len() / bytes * len];
                rf_quant::dequantize(format, raw, &mut out);
                out
            }
            None => Vec::new(),
        },
    }
}
