//! Tokenisation against llama.cpp's reference vectors (`tests/fixtures/tokenizer`).
mod common;

use rf_engine::{GgufFile, TextTokenizer};

/// (inputs, expected ids) from a `.inp` file and a `.out` file.
fn vectors(out_file: &str) -> Vec<(String, Vec<u32>)> {
    let dir = rf_test_assets::repo_root().join("tests/fixtures/tokenizer");
    let inp = std::fs::read_to_string(dir.join("ggml-vocab-qwen2.gguf.inp")).unwrap();
    let out = std::fs::read_to_string(dir.join(out_file)).unwrap();
    let inputs: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    let inputs = &inputs[..inputs.len() - 1]; // the separator also ends the file
    let outputs: Vec<&str> = out.split('\n').collect();
    assert!(outputs.len() >= inputs.len(), "{out_file} has fewer lines than inputs");
    inputs
        .iter()
        .zip(outputs)
        .map(|(i, o)| (i.to_string(), o.split_whitespace().map(|t| t.parse().unwrap()).collect()))
        .collect()
}

fn check(tokenizer: &TextTokenizer, out_file: &str) {
    let cases = vectors(out_file);
    assert!(cases.len() >= 40);
    for (text, want) in &cases {
        assert_eq!(&tokenizer.encode(text).unwrap(), want, "{out_file}: {text:?}");
    }
}

#[test]
fn qwen_tokenizer_json_matches_llama_cpp_vectors() {
    let Some(path) = rf_test_assets::asset("qwen-tokenizer.json", "all") else { return };
    check(&TextTokenizer::from_json_bytes(&std::fs::read(path).unwrap()).unwrap(), "ggml-vocab-qwen2.gguf.out");
}

#[test]
fn qwen_gguf_tokenizer_matches_llama_cpp_vectors() {
    let Some(path) = rf_test_assets::asset("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "all") else { return };
    let file = GgufFile::parse(std::fs::read(path).unwrap()).unwrap();
    check(&TextTokenizer::from_gguf(&file).unwrap(), "ggml-vocab-qwen2.gguf.out");
}

#[test]
fn smollm2_gguf_tokenizer_matches_llama_cpp() {
    let Some(path) = rf_test_assets::asset("SmolLM2-135M-Instruct.Q4_1.gguf", "all") else { return };
    let file = GgufFile::parse(std::fs::read(path).unwrap()).unwrap();
    check(&TextTokenizer::from_gguf(&file).unwrap(), "smollm2-llamacpp.out");
}
