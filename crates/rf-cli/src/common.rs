//! Arguments shared by the commands that load a model.
use std::path::PathBuf;

use anyhow::Context;
use rf_engine::{DeviceChoice, LocalModel, init_device};

/// Which compute device to use.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    /// Pure-Rust CPU backend.
    Cpu,
    /// GPU through wgpu (Vulkan on Linux).
    Wgpu,
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
}

impl ModelArgs {
    /// Initialises the chosen compute device.
    pub fn init_device(&self) -> anyhow::Result<rf_engine::Device> {
        Ok(init_device(match self.device {
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Wgpu => DeviceChoice::Wgpu,
        })?)
    }

    pub fn load(&self) -> anyhow::Result<LocalModel> {
        let device = self.init_device()?;
        LocalModel::load_path(&self.model, self.tokenizer.as_deref(), &device, self.context_len)
            .with_context(|| format!("loading model {}", self.model.display()))
    }

    /// Loads a separate navigator model on the same device settings, when one is given.
    pub fn load_navigator(&self, path: Option<&PathBuf>) -> anyhow::Result<Option<LocalModel>> {
        path.map(|p| ModelArgs { model: p.clone(), tokenizer: None, ..self.clone() }.load()).transpose()
    }
}
