//! [`Decoder`]: the engine a [`crate::LocalModel`] runs, chosen by [`WeightFormat`].
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{EngineError, Result};
use crate::load::DeviceChoice;
use crate::model::Transformer;
use crate::quant_model::QuantTransformer;

/// How weights are held once loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// As the file stores them (GGUF blocks stay blocks), on the CPU kernels of `rf-quant`.
    #[default]
    Quant,
    /// Dequantised to f32 in a burn module: the reference path, the trainable one, and the one
    /// that runs on wgpu.
    F32,
}

impl WeightFormat {
    /// The name used on the command line, in JSON and in JavaScript.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quant => "quant",
            Self::F32 => "f32",
        }
    }

    /// The default on a device: quantized on the CPU, f32 on wgpu (no quantized GPU kernels yet).
    pub fn default_for(device: DeviceChoice) -> Self {
        match device {
            DeviceChoice::Cpu => Self::Quant,
            DeviceChoice::Wgpu => Self::F32,
        }
    }

    /// Refuses combinations that cannot run.
    pub fn check_device(self, device: DeviceChoice) -> Result<()> {
        match (self, device) {
            (Self::Quant, DeviceChoice::Wgpu) => Err(EngineError::QuantizedNeedsCpu),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for WeightFormat {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "quant" => Ok(Self::Quant),
            "f32" => Ok(Self::F32),
            other => Err(EngineError::Config(format!("unknown weight format '{other}' (quant|f32)"))),
        }
    }
}

/// A loaded decoder: quantized on the CPU kernels, or the f32 burn module.
// Built once per loaded model, so the size gap between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Decoder {
    Quant(QuantTransformer),
    F32(Transformer),
}

impl Decoder {
    pub fn weights(&self) -> WeightFormat {
        match self {
            Self::Quant(_) => WeightFormat::Quant,
            Self::F32(_) => WeightFormat::F32,
        }
    }

    /// The hyper-parameters the model was built from.
    pub fn config(&self) -> &ModelConfig {
        match self {
            Self::Quant(m) => m.config(),
            Self::F32(m) => m.config(),
        }
    }

    /// Maximum number of positions (prompt plus generated tokens).
    pub fn context_len(&self) -> usize {
        match self {
            Self::Quant(m) => m.context_len(),
            Self::F32(m) => m.context_len(),
        }
    }

    /// Positions currently held in the KV cache.
    pub fn seen(&self) -> usize {
        match self {
            Self::Quant(m) => m.seen(),
            Self::F32(m) => m.seen(),
        }
    }

    /// Empties the KV cache so the next call starts a new sequence.
    pub fn reset(&mut self) {
        match self {
            Self::Quant(m) => m.reset(),
            Self::F32(m) => m.reset(),
        }
    }

    /// Bytes the weights occupy as held (f32: four per parameter).
    pub fn weight_bytes(&self) -> usize {
        match self {
            Self::Quant(m) => m.weight_bytes(),
            Self::F32(m) => 4 * burn::module::Module::num_params(m),
        }
    }

    /// Runs `ids` as the next positions and returns the logits of every position
    /// (`all_positions`) or of the last one, on the host.
    pub fn forward_host(&mut self, ids: &[u32], all_positions: bool) -> Result<Vec<Vec<f32>>> {
        match self {
            Self::Quant(m) => m.forward(ids, all_positions),
            Self::F32(m) => m.forward_host(ids, all_positions),
        }
    }

    /// [`Self::forward_host`] for the browser, where GPU readback must be awaited.
    pub async fn forward_host_async(&mut self, ids: &[u32], all_positions: bool) -> Result<Vec<Vec<f32>>> {
        match self {
            Self::Quant(m) => m.forward(ids, all_positions),
            Self::F32(m) => m.forward_host_async(ids, all_positions).await,
        }
    }

    /// The burn module, when the weights are f32 (training, checkpoints).
    pub fn as_f32(&self) -> Option<&Transformer> {
        match self {
            Self::F32(m) => Some(m),
            Self::Quant(_) => None,
        }
    }

    /// The burn module, or a typed error naming the quantized weights.
    pub fn into_f32(self) -> Result<Transformer> {
        match self {
            Self::F32(m) => Ok(m),
            Self::Quant(_) => Err(EngineError::NeedsF32Weights),
        }
    }
}
