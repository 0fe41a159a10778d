//! Teacher-forced comparison with llama.cpp's recorded top-5 logits: how far our logits are
//! from llama.cpp's at every step of a reference continuation.
//!
//! `cargo run --release --example llamacpp_diff -- assets/SmolLM2-135M-Instruct.Q4_1.gguf tests/fixtures/llamacpp/smollm2-greedy.json`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (model_path, reference_path) = (&args[1], &args[2]);
    let reference: serde_json::Value = serde_json::from_slice(&std::fs::read(reference_path)?)?;
    let mut model = rf_engine::LocalModel::load_path(model_path.as_ref(), None, &rf_engine::Device::flex(), &rf_engine::LoadOptions::new(1024).weights(rf_engine::WeightFormat::F32))?;
    for case in reference["results"].as_array().ok_or("no results")? {
        let ids: Vec<u32> = serde_json::from_value(case["prompt_ids"].clone())?;
        let new_ids: Vec<u32> = serde_json::from_value(case["new_token_ids"].clone())?;
        model.model.reset();
        let mut logits = model.model.forward_host(&ids, false)?.remove(0);
        let mut worst: f32 = 0.0;
        let mut first_flip = None;
        for (step, want) in case["steps"].as_array().ok_or("no steps")?.iter().enumerate() {
            let top_ids: Vec<usize> = serde_json::from_value(want["top_ids"].clone())?;
            let top_logits: Vec<f32> = serde_json::from_value(want["top_logits"].clone())?;
            let diff = top_ids.iter().zip(&top_logits).map(|(&i, &l)| (logits[i] - l).abs()).fold(0.0, f32::max);
            worst = worst.max(diff);
            let ours = logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0;
            if ours != top_ids[0] && first_flip.is_none() {
                first_flip = Some((step, top_logits[0] - top_logits[1]));
            }
            logits = model.model.forward_host(&[new_ids[step]], false)?.remove(0);
        }
        println!("{}: max |Δ| over top-5 logits = {worst:.3}; first argmax flip: {first_flip:?} (step, llama.cpp margin)", case["name"]);
    }
    Ok(())
}
