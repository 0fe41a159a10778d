//! Arguments shared by the commands that load a model.
use std::path::PathBuf;

use anyhow::Context;
use rf_engine::{DeviceChoice, KvCacheDtype, LoadOptions, LocalModel, WeightFormat, init_device};

/// Which compute device to use.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    /// Pure-Rust CPU backend.
    Cpu,
    /// GPU through wgpu (Vulkan on Linux).
    Wgpu,
}

/// How weights are held once loaded.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsArg {
    /// As stored in the GGUF (blocks kept), on the quantized CPU kernels.
    Quant,
    /// Dequantised to f32 (the reference; the only choice on wgpu for now).
    F32,
}

/// Element type of the quantized decoder's KV cache.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvCacheArg {
    F32,
    F16,
}

/// Model location and runtime settings.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// A .gguf file or an HF folder (config.json, *.safetensors, tokenizer.json).
    #[arg(long, short, env = "REASONFLUX_MODEL", default_value = "assets/SmolLM2-135M-Instruct.Q4_1.gguf")]
    pub model: PathBuf,
    /// A tokenizer.json to use instead of the one in the model.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Context length (prompt plus generated tokens).
    #[arg(long, default_value_t = 4096)]
    pub context_len: usize,
    /// Weights: quant (default on cpu) or f32 (default on wgpu).
    #[arg(long, value_enum)]
    pub weights: Option<WeightsArg>,
    /// KV cache element type of the quantized decoder.
    #[arg(long, value_enum, default_value = "f32")]
    pub kv_cache: KvCacheArg,
}

impl ModelArgs {
    /// Initialises the chosen compute device.
    pub fn init_device(&self) -> anyhow::Result<rf_engine::Device> {
        Ok(init_device(self.device_choice())?)
    }

    fn device_choice(&self) -> DeviceChoice {
        match self.device {
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Wgpu => DeviceChoice::Wgpu,
        }
    }

    /// The weight format asked for, or the device's default.
    pub fn weight_format(&self) -> WeightFormat {
        match self.weights {
            Some(WeightsArg::Quant) => WeightFormat::Quant,
            Some(WeightsArg::F32) => WeightFormat::F32,
            None => WeightFormat::default_for(self.device_choice()),
        }
    }

    /// Loading options for the inference commands.
    pub fn load_options(&self) -> anyhow::Result<LoadOptions> {
        let weights = self.weight_format();
        weights.check_device(self.device_choice())?;
        let kv = match self.kv_cache {
            KvCacheArg::F32 => KvCacheDtype::F32,
            KvCacheArg::F16 => KvCacheDtype::F16,
        };
        Ok(LoadOptions::new(self.context_len).weights(weights).kv_cache(kv))
    }

    pub fn load(&self) -> anyhow::Result<LocalModel> {
        let options = self.load_options()?;
        let device = self.init_device()?;
        LocalModel::load_path(&self.model, self.tokenizer.as_deref(), &device, &options)
            .with_context(|| format!("loading model {}", self.model.display()))
    }

    /// Loads a separate navigator model on the same device settings, when one is given.
    pub fn load_navigator(&self, path: Option<&PathBuf>) -> anyhow::Result<Option<LocalModel>> {
        path.map(|p| ModelArgs { model: p.clone(), tokenizer: None, ..self.clone() }.load()).transpose()
    }
}
