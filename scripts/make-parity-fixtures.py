#!/usr/bin/env python3
"""Build tiny random-weight Qwen2 / Llama checkpoints with HF transformers and
record reference logits for the Rust engine's parity tests.

Writes, under tests/fixtures/parity/:
  qwen2-tiny/      Qwen2, f32 weights, single model.safetensors
  qwen2-tiny-f16/  the same Qwen2 weights saved as float16
  llama-tiny/      Llama, bf16 weights, sharded (>= 2 shards + index json)
each with config.json, generation_config.json, the safetensors file(s) and
logits.json.

The reference logits are always computed from the checkpoint as saved on
disk, re-loaded with transformers in float32 (so f16/bf16 weights are the
rounded values upcast to f32), eager attention, on CPU.

Needs: torch, transformers, safetensors (see tests/fixtures/README.md).
Usage:  python scripts/make-parity-fixtures.py [--out tests/fixtures/parity] [--verify-only]
(the last step re-derives every logits.json with an independent numpy forward
pass; --verify-only runs just that check on existing fixtures)
"""
import argparse
import json
import os
import shutil
import sys

import safetensors
import torch
import transformers
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

INPUT_IDS = [1, 17, 42, 99, 3, 250, 7, 7, 128, 64, 5, 200]
PROMPT_LEN_DECODE = 8  # first 8 ids as a prompt, then 4 single-token steps
PROMPT_LEN_GENERATE = 5
GENERATE_NEW_TOKENS = 10
SIG_DIGITS = 7

# Token ids written into config.json. They are plain ids of the 256-entry toy
# vocabulary; there is no tokenizer. Generation is run with EOS disabled so
# that exactly GENERATE_NEW_TOKENS tokens always come out.
BOS_ID = 1
EOS_ID = 2


def rnd(x):
    """Round to SIG_DIGITS significant digits (shortest repr in JSON)."""
    return float(f"{x:.{SIG_DIGITS}g}")


def rows(t):
    return [[rnd(v) for v in row] for row in t.tolist()]


@torch.no_grad()
def randomise(model, gen, bias_names=("q_proj", "k_proj", "v_proj"), embed_std=1.0):
    """Replace HF's init (std 0.02, zero biases, unit norms) with weights big
    enough that attention patterns, RoPE and norms visibly matter."""
    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or "layernorm" in name:
            # RMSNorm gains around 1, clearly not all-ones
            p.copy_(1.0 + 0.25 * torch.randn(p.shape, generator=gen))
        elif name.endswith(".bias"):
            assert any(b in name for b in bias_names), name
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        elif "embed_tokens" in name:
            p.copy_(embed_std * torch.randn(p.shape, generator=gen))
        elif p.dim() == 2:
            fan_in = p.shape[1]
            p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(p.shape)}")


def patch_config_json(path, rope_theta):
    """transformers >= 5 writes RoPE as {"rope_parameters": {"rope_theta": ...}}
    and the dtype as "dtype". Hub checkpoints made with transformers 4.x (the
    ones the engine must read) have a top-level "rope_theta" and "torch_dtype".
    Write both spellings so either kind of loader reads the right values."""
    with open(path) as f:
        cfg = json.load(f)
    cfg["rope_theta"] = rope_theta
    if "dtype" in cfg and "torch_dtype" not in cfg:
        cfg["torch_dtype"] = cfg["dtype"]
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


@torch.no_grad()
def reference(model_cls, out_dir, dtype_of_weights, notes):
    """Reload the saved checkpoint in f32 and record all reference outputs."""
    model = model_cls.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    ids = torch.tensor([INPUT_IDS], dtype=torch.long)

    # 1. full-sequence forward pass
    full = model(ids, use_cache=False).logits[0]  # [12, vocab]

    # 2. incremental decode: 8-token prompt, then one token at a time
    out = model(ids[:, :PROMPT_LEN_DECODE], use_cache=True)
    pkv = out.past_key_values
    prefill_last = out.logits[0, -1]
    decode = []
    for i in range(PROMPT_LEN_DECODE, len(INPUT_IDS)):
        out = model(ids[:, i : i + 1], past_key_values=pkv, use_cache=True)
        pkv = out.past_key_values
        decode.append(out.logits[0, -1])
    decode = torch.stack(decode)
    max_diff_decode = (decode - full[PROMPT_LEN_DECODE:]).abs().max().item()
    max_diff_prefill = (prefill_last - full[PROMPT_LEN_DECODE - 1]).abs().max().item()
    assert max_diff_decode < 1e-4, max_diff_decode
    assert max_diff_prefill < 1e-4, max_diff_prefill

    # 3. greedy generation via model.generate (EOS disabled, no sampling)
    gc = GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=GENERATE_NEW_TOKENS,
        min_new_tokens=None,
        eos_token_id=None,
        pad_token_id=0,
        repetition_penalty=1.0,
        temperature=None,
        top_k=None,
        top_p=None,
    )
    gen_out = model.generate(ids[:, :PROMPT_LEN_GENERATE], generation_config=gc)
    new_tokens = gen_out[0, PROMPT_LEN_GENERATE:].tolist()
    assert len(new_tokens) == GENERATE_NEW_TOKENS, new_tokens

    # cross-check generate() against a hand-written argmax loop (no cache)
    seq = INPUT_IDS[:PROMPT_LEN_GENERATE]
    margins = []  # top-1 minus top-2 logit at each greedy step
    for _ in range(GENERATE_NEW_TOKENS):
        logits = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
        top2 = torch.topk(logits, 2).values
        margins.append(rnd((top2[0] - top2[1]).item()))
        seq.append(int(torch.argmax(logits)))
    assert seq[PROMPT_LEN_GENERATE:] == new_tokens, (seq, new_tokens)

    result = {
        "input_ids": INPUT_IDS,
        "logits": rows(full),
        "decode_prompt_len": PROMPT_LEN_DECODE,
        "decode_logits": rows(decode),
        "generate_greedy": {
            "prompt_ids": INPUT_IDS[:PROMPT_LEN_GENERATE],
            "max_new_tokens": GENERATE_NEW_TOKENS,
            "new_token_ids": new_tokens,
            "eos_token_id": None,
            "top1_minus_top2_logit_per_step": margins,
        },
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "safetensors_version": safetensors.__version__,
        "dtype_of_weights": dtype_of_weights,
        "compute_dtype": "float32",
        "attn_implementation": "eager",
        "float_rounding": f"{SIG_DIGITS} significant digits",
        "checks": {
            "max_abs_diff_decode_vs_full_rows_8_11": max_diff_decode,
            "max_abs_diff_prefill_last_vs_full_row_7": max_diff_prefill,
        },
        "notes": notes,
    }
    with open(os.path.join(out_dir, "logits.json"), "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print(
        f"{out_dir}: logits {tuple(full.shape)} range [{full.min():.3f}, {full.max():.3f}] "
        f"std {full.std():.3f}; decode diff {max_diff_decode:.2e}; greedy {new_tokens} min margin {min(margins)}"
    )


def fresh_dir(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)


def save(model, out_dir, rope_theta, **kw):
    fresh_dir(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True, **kw)
    patch_config_json(os.path.join(out_dir, "config.json"), rope_theta)


# ---------------------------------------------------------------------------
# Independent check: a from-scratch numpy forward pass over the files on disk
# (no transformers code) must reproduce logits.json. It pins down the
# conventions the Rust engine must follow: HF "rotate_half" RoPE (pairs i and
# i + head_dim/2), GQA head grouping, RMSNorm x * rsqrt(mean(x^2) + eps) * w,
# SwiGLU MLP, tied lm_head = embed_tokens when lm_head.weight is absent.
# ---------------------------------------------------------------------------
def numpy_forward(model_dir, ids):
    import numpy as np
    from safetensors.numpy import load_file

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = {}
    for fn in sorted(os.listdir(model_dir)):
        if fn.endswith(".safetensors"):
            # numpy has no bfloat16: go through torch for the upcast
            from safetensors.torch import load_file as load_pt

            w.update({k: v.float().numpy().astype(np.float64) for k, v in load_pt(os.path.join(model_dir, fn)).items()})
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // nh
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    T = len(ids)

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.outer(np.arange(T), inv)
    cos = np.concatenate([np.cos(ang)] * 2, -1)
    sin = np.concatenate([np.sin(ang)] * 2, -1)

    def rope(x):  # x [heads, T, hd]
        rot = np.concatenate([-x[..., hd // 2 :], x[..., : hd // 2]], -1)
        return x * cos + rot * sin

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        return y

    x = w["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, w[p + "input_layernorm.weight"])
        q = lin(h, p + "self_attn.q_proj").reshape(T, nh, hd).transpose(1, 0, 2)
        k = lin(h, p + "self_attn.k_proj").reshape(T, nkv, hd).transpose(1, 0, 2)
        v = lin(h, p + "self_attn.v_proj").reshape(T, nkv, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        k = np.repeat(k, nh // nkv, axis=0)
        v = np.repeat(v, nh // nkv, axis=0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(T, H)
        x = x + lin(a, p + "self_attn.o_proj")
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        g = lin(h, p + "mlp.gate_proj")
        x = x + lin(g / (1 + np.exp(-g)) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, w["model.norm.weight"])
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


def verify(root):
    import numpy as np

    worst = 0.0
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isfile(os.path.join(d, "logits.json")):
            continue
        with open(os.path.join(d, "logits.json")) as f:
            ref = json.load(f)
        ours = numpy_forward(d, ref["input_ids"])
        diff = np.abs(ours - np.array(ref["logits"])).max()
        ddiff = np.abs(ours[ref["decode_prompt_len"] :] - np.array(ref["decode_logits"])).max()
        print(f"verify {name}: numpy(f64) vs logits.json max|diff| = {diff:.2e}, decode rows {ddiff:.2e}")
        worst = max(worst, diff, ddiff)
    assert worst < 1e-4, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "parity"))
    ap.add_argument("--verify-only", action="store_true", help="only re-check existing fixtures with numpy")
    args = ap.parse_args()
    root = os.path.normpath(args.out)
    if args.verify_only:
        verify(root)
        return 0
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    # ---------------- Qwen2 ----------------
    qcfg = Qwen2Config(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        rope_theta=1e6,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        max_position_embeddings=128,
        use_sliding_window=False,
        hidden_act="silu",
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        attn_implementation="eager",
    )
    torch.manual_seed(20240601)
    qwen = Qwen2ForCausalLM(qcfg).to(torch.float32).eval()
    randomise(qwen, torch.Generator().manual_seed(1001))
    for layer in qwen.model.layers:
        for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            assert proj.bias is not None and proj.bias.abs().min() > 0

    d = os.path.join(root, "qwen2-tiny")
    save(qwen, d, 1e6)
    reference(Qwen2ForCausalLM, d, "float32", "Qwen2, untied lm_head, random non-zero q/k/v biases, random RMSNorm gains.")

    d = os.path.join(root, "qwen2-tiny-f16")
    qwen_f16 = Qwen2ForCausalLM(qcfg)
    qwen_f16.load_state_dict(qwen.state_dict())
    qwen_f16 = qwen_f16.to(torch.float16).eval()
    save(qwen_f16, d, 1e6)
    reference(
        Qwen2ForCausalLM,
        d,
        "float16",
        "Same weights as qwen2-tiny, stored as float16; logits computed from the f16-rounded weights upcast to float32.",
    )

    # ---------------- Llama ----------------
    lcfg = LlamaConfig(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        max_position_embeddings=128,
        attention_bias=False,
        mlp_bias=False,
        hidden_act="silu",
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        attn_implementation="eager",
    )
    torch.manual_seed(20240602)
    llama = LlamaForCausalLM(lcfg).to(torch.float32).eval()
    # tied embeddings double as lm_head: N(0, 1/hidden) keeps the logits at
    # std ~1 (N(0, 1) gives std ~8 logits and a degenerate greedy loop)
    randomise(llama, torch.Generator().manual_seed(2002), bias_names=(), embed_std=64**-0.5)
    llama.tie_weights()
    assert llama.lm_head.weight.data_ptr() == llama.model.embed_tokens.weight.data_ptr()
    llama = llama.to(torch.bfloat16)
    d = os.path.join(root, "llama-tiny")
    # ~91k params * 2 bytes = ~181 KB; 64 KB shards give >= 2 shards
    save(llama, d, 100000.0, max_shard_size="64KB")
    shards = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    assert len(shards) >= 2 and os.path.exists(os.path.join(d, "model.safetensors.index.json")), shards
    reference(
        LlamaForCausalLM,
        d,
        "bfloat16",
        "Llama, tied embeddings (no lm_head tensor on disk), random RMSNorm gains, bf16 sharded; "
        "logits computed from the bf16 weights upcast to float32.",
    )
    verify(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
