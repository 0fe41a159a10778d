#!/usr/bin/env python3
"""Record llama.cpp (via llama-cpp-python) tokenisation and pure-argmax greedy
continuations for the GGUF models in assets/, as reference data for the Rust
engine.

Writes:
  tests/fixtures/llamacpp/smollm2-greedy.json   (assets/SmolLM2-135M-Instruct.Q4_1.gguf)
  tests/fixtures/llamacpp/qwen05-greedy.json    (assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf)
  tests/fixtures/tokenizer/smollm2-llamacpp.out  } the inputs of
  tests/fixtures/tokenizer/qwen05-llamacpp.out   } ggml-vocab-qwen2.gguf.inp tokenised by
                                                   these models' own vocabularies, same
                                                   format as llama.cpp's .out files

Greedy decoding is done by hand: eval the prompt, then repeatedly take the
argmax of llama.cpp's last-position logits (llama_get_logits_ith(ctx, -1)) and
eval that one token. No sampler, no temperature, no repeat penalty, and it does
not stop at end-of-generation tokens: exactly max_new_tokens come out, and
"first_eog_index" tells where llama.cpp itself would have stopped. The result
is cross-checked against llama-cpp-python's own sampler chain
(Llama.generate with top_k=1, temp=0, repeat_penalty=1.0).

Needs: llama-cpp-python, numpy.  Usage: python scripts/make-llamacpp-reference.py
"""
import argparse
import json
import os
import platform
import sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
N_CTX = 512
TOP_K_RECORDED = 5

SMOLLM_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
QWEN_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def chatml(system, user):
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n"
        f"<|im_start|>assistant\n"
    )


MODELS = [
    {
        "key": "smollm2",
        "gguf": "assets/SmolLM2-135M-Instruct.Q4_1.gguf",
        "out": "tests/fixtures/llamacpp/smollm2-greedy.json",
        "tok_out": "tests/fixtures/tokenizer/smollm2-llamacpp.out",
        "max_new_tokens": 48,
        "prompts": [
            {"name": "raw", "text": "The capital of France is"},
            {"name": "chatml", "text": chatml(SMOLLM_SYSTEM, "What is 15 + 27?")},
            {"name": "digits", "text": "Compute 123*456 = ? Let's think step by step."},
        ],
    },
    {
        "key": "qwen05",
        "gguf": "assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "out": "tests/fixtures/llamacpp/qwen05-greedy.json",
        "tok_out": "tests/fixtures/tokenizer/qwen05-llamacpp.out",
        "max_new_tokens": 64,
        "prompts": [
            {"name": "chatml", "text": chatml(QWEN_SYSTEM, "What is 15 + 27?")},
        ],
    },
]

TOKENIZER_INP = "tests/fixtures/tokenizer/ggml-vocab-qwen2.gguf.inp"


def last_logits(llm):
    ptr = llm._ctx.get_logits_ith(-1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()


def is_eog(llm, tok):
    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, tok))


def greedy(llm, prompt_ids, n):
    llm.reset()
    llm.eval(prompt_ids)
    out, steps = [], []
    for _ in range(n):
        logits = last_logits(llm).astype(np.float64)
        order = np.argsort(-logits, kind="stable")[:TOP_K_RECORDED]
        tok = int(order[0])  # argmax; ties -> lowest id
        steps.append(
            {
                "top_ids": [int(i) for i in order],
                "top_logits": [float(f"{logits[i]:.7g}") for i in order],
                "top1_minus_top2": float(f"{logits[order[0]] - logits[order[1]]:.7g}"),
            }
        )
        out.append(tok)
        llm.eval([tok])
    return out, steps


def sampler_greedy(llm, prompt_ids, n):
    out = []
    for tok in llm.generate(
        prompt_ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True
    ):
        out.append(int(tok))
        if len(out) == n:
            break
    return out


def text_of(llm, ids, special):
    return llm.detokenize(ids, special=special).decode("utf-8", errors="replace")


def read_vocab_tests(path):
    """llama.cpp test-tokenizer-0 input format (see tests/fixtures/tokenizer/README.md)."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    sep = "\n__ggml_vocab_test__\n"
    tests, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(sep, pos)
        if nxt < 0:
            tests.append(raw[pos:])
            break
        tests.append(raw[pos:nxt])
        pos = nxt + len(sep)
    return tests


def run_model(spec, threads):
    path = os.path.join(ROOT, spec["gguf"])
    if not os.path.exists(path):
        print(f"skip {spec['key']}: {path} missing (scripts/fetch-assets.sh)", file=sys.stderr)
        return None
    llm = Llama(
        model_path=path,
        n_ctx=N_CTX,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        logits_all=False,
        verbose=False,
    )
    meta = dict(llm.metadata)
    results = []
    for p in spec["prompts"]:
        ids = llm.tokenize(p["text"].encode("utf-8"), add_bos=False, special=True)
        new, steps = greedy(llm, ids, spec["max_new_tokens"])
        via_sampler = sampler_greedy(llm, ids, spec["max_new_tokens"])
        eog = [i for i, t in enumerate(new) if is_eog(llm, t)]
        entry = {
            "name": p["name"],
            "prompt": p["text"],
            "prompt_ids": ids,
            "prompt_ids_add_bos": llm.tokenize(p["text"].encode("utf-8"), add_bos=True, special=True),
            "prompt_ids_no_special": llm.tokenize(p["text"].encode("utf-8"), add_bos=False, special=False),
            "max_new_tokens": spec["max_new_tokens"],
            "new_token_ids": new,
            "text": text_of(llm, new, special=False),
            "text_with_special": text_of(llm, new, special=True),
            "first_eog_index": eog[0] if eog else None,
            "text_until_eog": text_of(llm, new[: eog[0]] if eog else new, special=False),
            "sampler_greedy_matches": via_sampler == new,
            "sampler_greedy_token_ids": via_sampler,
            "min_top1_minus_top2": min(s["top1_minus_top2"] for s in steps),
            "steps": steps,
        }
        if via_sampler != new:
            print(f"WARNING {spec['key']}/{p['name']}: sampler greedy differs from argmax loop", file=sys.stderr)
        print(f"{spec['key']}/{p['name']}: {len(ids)} prompt ids -> {entry['text_until_eog']!r}")
        results.append(entry)

    doc = {
        "model_file": spec["gguf"],
        "model_file_size": os.path.getsize(path),
        "general.name": meta.get("general.name"),
        "general.architecture": meta.get("general.architecture"),
        "tokenizer.ggml.pre": meta.get("tokenizer.ggml.pre"),
        "n_vocab": llm.n_vocab(),
        "bos_token_id": llm.token_bos(),
        "eos_token_id": llm.token_eos(),
        "add_bos_token_metadata": meta.get("tokenizer.ggml.add_bos_token"),
        "n_ctx": N_CTX,
        "n_threads": threads,
        "decoding": "pure argmax over llama_get_logits_ith(ctx,-1) after each llama_decode; "
        "no sampler, temperature, repeat penalty or EOG stop; ties -> lowest id. "
        "steps[i] holds the top-5 ids/logits that chose new_token_ids[i].",
        "tokenize_call": "llm.tokenize(text.encode(), add_bos=False, special=True)",
        "detokenize_call": "llm.detokenize(ids, special=False|True)",
        "llama_cpp_python_version": llama_cpp.__version__,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    out = os.path.join(ROOT, spec["out"])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")

    # tokenizer vectors: llama.cpp's test-tokenizer-0 calls
    # common_tokenize(ctx, text, add_special=false, parse_special=false)
    inp = os.path.join(ROOT, TOKENIZER_INP)
    if os.path.exists(inp):
        lines = []
        for t in read_vocab_tests(inp):
            toks = llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)
            lines.append(" " + " ".join(str(x) for x in toks) if toks else "")
        with open(os.path.join(ROOT, spec["tok_out"]), "w") as f:
            f.write("\n".join(lines) + "\n")
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=[m["key"] for m in MODELS])
    args = ap.parse_args()
    for spec in MODELS:
        if args.only and spec["key"] != args.only:
            continue
        run_model(spec, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
