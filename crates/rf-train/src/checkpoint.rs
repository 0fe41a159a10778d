//! HF-layout checkpoints (model.safetensors, config.json, tokenizer.json, tokenizer_config.json)
//! plus the trainer's own state for resuming.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rf_engine::{LoadOptions, LocalModel, TextTokenizer, Transformer, WeightFormat};
use safetensors::tensor::{Dtype, TensorView};

use crate::{Result, TrainError, io_error};

/// ChatML, as the engine formats conversations; lets HF `apply_chat_template` agree with us.
const CHATML_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// Writes `model` and `tokenizer` as an HF checkpoint folder `dir` (created if missing).
/// The weights are f32, under HF names, with `format: pt` metadata as transformers expects.
pub fn save_hf(dir: &Path, model: &Transformer, tokenizer: &TextTokenizer) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tensors = model.to_hf_tensors()?;
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, t)| (name, t.shape, t.data.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| TrainError::Checkpoint { path: dir.display().to_string(), message: e.to_string() })
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let path = dir.join("model.safetensors");
    safetensors::serialize_to_file(views, Some(metadata), &path)
        .map_err(|e| TrainError::Checkpoint { path: path.display().to_string(), message: e.to_string() })?;
    write(&dir.join("config.json"), &model.config().to_hf_json())?;
    write(&dir.join("tokenizer.json"), &tokenizer.to_json()?)?;
    let token = |t: &str| tokenizer.token_id(t).map(|_| t.to_string());
    let tokenizer_config = serde_json::json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": token("<|im_end|>").or_else(|| token("<|endoftext|>")),
        "pad_token": token("<|endoftext|>"),
        "chat_template": CHATML_TEMPLATE,
        "model_max_length": model.config().max_position_embeddings,
    });
    write(&dir.join("tokenizer_config.json"), &serde_json::to_string_pretty(&tokenizer_config).unwrap_or_default())
}

/// Loads a model for training: f32 weights become trainable parameters on `device` with
/// autodiff enabled ([`rf_engine::Decoder::F32`]).
pub fn load_trainable(path: &Path, tokenizer: Option<&Path>, device: &rf_engine::Device, context_len: usize) -> Result<LocalModel> {
    let options = LoadOptions::new(context_len).weights(WeightFormat::F32);
    Ok(LocalModel::load_path(path, tokenizer, &device.clone().autodiff(), &options)?)
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    // Write then rename, so an interrupted save never leaves a half-written file behind.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// The checkpoint folders under `out` (`step-000123`), oldest first.
pub fn checkpoints(out: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let step = name.strip_prefix("step-")?.parse().ok()?;
            // Only complete checkpoints: the trainer state is written last.
            e.path().join("trainer_state.json").exists().then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}
