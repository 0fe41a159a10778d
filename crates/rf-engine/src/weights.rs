//! Weight sources: GGUF files and HF safetensors (single or sharded), read tensor by tensor
//! under HF tensor names, either converted to f32 on the host ([`WeightSource::tensor`]) or as
//! stored ([`WeightSource::matrix`]: GGUF blocks kept, sharing the file's bytes).
use std::collections::BTreeMap;

use rf_quant::QuantMatrix;
use safetensors::{Dtype, SafeTensors};

use crate::config::{Architecture, ModelConfig};
use crate::error::{EngineError, Result};
use crate::gguf::GgufFile;

/// A dense f32 tensor on the host, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Something that yields checkpoint tensors by their HF name.
pub trait WeightSource {
    /// Reads and converts one tensor.
    fn tensor(&self, hf_name: &str) -> Result<HostTensor>;
    /// Whether the checkpoint has a tensor of that HF name.
    fn contains(&self, hf_name: &str) -> bool;
    /// A 2-D weight `[out, in]` in HF row order, kept in its stored format where the kernels
    /// have one (GGUF blocks, f32); other float types are widened to f32.
    fn matrix(&self, hf_name: &str) -> Result<QuantMatrix> {
        f32_matrix(hf_name, self.tensor(hf_name)?)
    }
}

/// A 2-D host tensor as an f32 [`QuantMatrix`].
fn f32_matrix(hf_name: &str, t: HostTensor) -> Result<QuantMatrix> {
    let [rows, cols] = t.shape[..] else {
        return Err(EngineError::ShapeMismatch { name: hf_name.to_string(), expected: vec![0, 0], actual: t.shape });
    };
    QuantMatrix::from_f32(rows, cols, &t.data).map_err(|e| EngineError::quant(hf_name, e))
}

/// Safetensors files held in memory (one per shard).
pub struct SafetensorsWeights {
    shards: Vec<Vec<u8>>,
    /// HF tensor name → index of the shard holding it.
    index: BTreeMap<String, usize>,
}

impl SafetensorsWeights {
    /// Checks each shard's header and indexes its tensors.
    pub fn from_shards(shards: Vec<Vec<u8>>) -> Result<Self> {
        let mut index = BTreeMap::new();
        for (i, bytes) in shards.iter().enumerate() {
            let st = SafeTensors::deserialize(bytes).map_err(|e| EngineError::Safetensors(e.to_string()))?;
            for name in st.names() {
                index.insert(name.to_string(), i);
            }
        }
        Ok(Self { shards, index })
    }

    /// File names of the shards listed by a `model.safetensors.index.json`, in a stable order.
    pub fn shard_files(index_json: &str) -> Result<Vec<String>> {
        let value: serde_json::Value = serde_json::from_str(index_json)
            .map_err(|e| EngineError::Safetensors(format!("index.json: {e}")))?;
        let map = value
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| EngineError::Safetensors("index.json has no weight_map".into()))?;
        let mut files: Vec<String> = map.values().filter_map(|v| v.as_str().map(str::to_string)).collect();
        files.sort();
        files.dedup();
        if files.iter().any(|f| f.contains('/') || f.contains("..")) {
            return Err(EngineError::Safetensors("index.json names a shard outside the model folder".into()));
        }
        Ok(files)
    }
}

impl WeightSource for SafetensorsWeights {
    fn contains(&self, hf_name: &str) -> bool {
        self.index.contains_key(hf_name)
    }

    fn tensor(&self, hf_name: &str) -> Result<HostTensor> {
        let shard = *self
            .index
            .get(hf_name)
            .ok_or_else(|| EngineError::MissingWeight(hf_name.to_string()))?;
        let st = SafeTensors::deserialize(&self.shards[shard])
            .map_err(|e| EngineError::Safetensors(e.to_string()))?;
        let view = st.tensor(hf_name).map_err(|e| EngineError::Safetensors(e.to_string()))?;
        let raw = view.data();
        let data = match view.dtype() {
            Dtype::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => raw.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => raw.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => {
                return Err(EngineError::UnsupportedDtype { name: hf_name.to_string(), dtype: format!("{other:?}") });
            }
        };
        Ok(HostTensor { shape: view.shape().to_vec(), data })
    }
}

/// A GGUF file read under HF names.
pub struct GgufWeights {
    file: GgufFile,
    architecture: Architecture,
    heads: usize,
    kv_heads: usize,
}

impl GgufWeights {
    pub fn new(file: GgufFile, config: &ModelConfig) -> Self {
        Self { file, architecture: config.architecture, heads: config.num_attention_heads, kv_heads: config.kv_heads() }
    }

    /// The parsed file (metadata, tokenizer).
    pub fn file(&self) -> &GgufFile {
        &self.file
    }
}

/// Maps an HF tensor name to its llama.cpp GGUF name.
fn gguf_name(hf_name: &str) -> Option<String> {
    let simple = match hf_name {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(name) = simple {
        return Some(name.to_string());
    }
    let rest = hf_name.strip_prefix("model.layers.")?;
    let (layer, tail) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, suffix) = tail.rsplit_once('.')?;
    let gguf_module = match module {
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        _ => return None,
    };
    Some(format!("blk.{layer}.{gguf_module}.{suffix}"))
}

/// Undoes llama.cpp's interleaving of Q/K rows for `llama` GGUFs, giving HF's rotate-half layout.
///
/// llama.cpp stores row `2*i + p` of each head where HF has row `p*half + i`.
fn unpermute_rows(t: HostTensor, heads: usize) -> Result<HostTensor> {
    let data = unpermute(&t.data, t.shape[0], heads, "q/k projection")?;
    Ok(HostTensor { shape: t.shape, data })
}

/// The row permutation of [`unpermute_rows`] on `rows` equal rows of any element type: f32
/// values, or the bytes of whole rows of blocks (lossless for GGUF blocks).
fn unpermute<T: Copy + Default>(data: &[T], rows: usize, heads: usize, name: &str) -> Result<Vec<T>> {
    let row_len = data.len() / rows.max(1);
    if heads == 0 || rows % (2 * heads) != 0 {
        return Err(EngineError::ShapeMismatch { name: name.to_string(), expected: vec![2 * heads, row_len], actual: vec![rows, row_len] });
    }
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut out = vec![T::default(); data.len()];
    for h in 0..heads {
        for i in 0..half {
            for p in 0..2 {
                let src = (h * head_dim + 2 * i + p) * row_len;
                let dst = (h * head_dim + p * half + i) * row_len;
                out[dst..dst + row_len].copy_from_slice(&data[src..src + row_len]);
            }
        }
    }
    Ok(out)
}

impl GgufWeights {
    /// The GGUF name of `hf_name`, and the head count whose rows llama.cpp permuted (Q, K of
    /// `llama` files), if any.
    fn locate(&self, hf_name: &str) -> Result<(String, Option<usize>)> {
        let name = gguf_name(hf_name).ok_or_else(|| EngineError::MissingWeight(hf_name.to_string()))?;
        if !self.file.has_tensor(&name) {
            return Err(EngineError::MissingWeight(format!("{hf_name} (GGUF tensor '{name}')")));
        }
        let permuted = match self.architecture {
            Architecture::Llama if hf_name.contains("self_attn.q_proj.") => Some(self.heads),
            Architecture::Llama if hf_name.contains("self_attn.k_proj.") => Some(self.kv_heads),
            _ => None,
        };
        Ok((name, permuted))
    }
}

impl WeightSource for GgufWeights {
    fn contains(&self, hf_name: &str) -> bool {
        gguf_name(hf_name).is_some_and(|n| self.file.has_tensor(&n))
    }

    fn tensor(&self, hf_name: &str) -> Result<HostTensor> {
        let (name, permuted) = self.locate(hf_name)?;
        let t = self.file.tensor_f32(&name)?;
        match permuted {
            Some(heads) => unpermute_rows(t, heads),
            None => Ok(t),
        }
    }

    fn matrix(&self, hf_name: &str) -> Result<QuantMatrix> {
        let (name, permuted) = self.locate(hf_name)?;
        let (kind, shape, _) = self.file.tensor_raw(&name)?;
        let (Some(format), [rows, cols]) = (kind.quant_format(), shape) else {
            // F16/BF16 (and 1-D tensors, refused there) go through the f32 conversion.
            return f32_matrix(hf_name, self.tensor(hf_name)?);
        };
        let (rows, cols) = (*rows, *cols);
        let stored = QuantMatrix::new(format, rows, cols, self.file.tensor_bytes(&name)?).map_err(|e| EngineError::quant(hf_name, e))?;
        let Some(heads) = permuted else { return Ok(stored) };
        let bytes = unpermute(stored.bytes(), rows, heads, hf_name)?;
        QuantMatrix::new(format, rows, cols, bytes.into()).map_err(|e| EngineError::quant(hf_name, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_names_map_to_llama_cpp_names() {
        assert_eq!(gguf_name("model.layers.3.self_attn.o_proj.weight").as_deref(), Some("blk.3.attn_output.weight"));
        assert_eq!(gguf_name("model.layers.0.self_attn.q_proj.bias").as_deref(), Some("blk.0.attn_q.bias"));
        assert_eq!(gguf_name("model.layers.11.post_attention_layernorm.weight").as_deref(), Some("blk.11.ffn_norm.weight"));
        assert_eq!(gguf_name("lm_head.weight").as_deref(), Some("output.weight"));
        assert_eq!(gguf_name("model.layers.x.mlp.up_proj.weight"), None);
    }

    #[test]
    fn unpermute_inverts_the_llama_cpp_permutation() {
        // One head of dim 4, one column: HF rows [a0, a1, b0, b1] are stored as [a0, b0, a1, b1].
        let stored = HostTensor { shape: vec![4, 1], data: vec![0.0, 2.0, 1.0, 3.0] };
        let hf = unpermute_rows(stored, 1).unwrap();
        assert_eq!(hf.data, vec![0.0, 1.0, 2.0, 3.0]);
    }
}
