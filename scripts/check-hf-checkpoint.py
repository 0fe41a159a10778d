#!/usr/bin/env python3
"""Check that a checkpoint written by `reasonflux train` loads in HF transformers and agrees
with our engine: same prompt token ids and the same greedy continuation.

Usage: python scripts/check-hf-checkpoint.py CHECKPOINT_DIR [--reasonflux BIN] [--tokens N]
Needs torch and transformers (the venv of scripts/make-parity-fixtures.py).
"""
import argparse
import json
import subprocess

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPT = "What is the sum of the roots of x^2 - 5x + 6 = 0?"
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--reasonflux", default="reasonflux")
    ap.add_argument("--tokens", type=int, default=32)
    args = ap.parse_args()

    tok = AutoTokenizer.from_pretrained(args.checkpoint)
    model = AutoModelForCausalLM.from_pretrained(args.checkpoint, dtype=torch.float32)
    model.eval()
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=args.tokens, do_sample=False, eos_token_id=None)
    hf_new = out[0, ids.shape[1]:].tolist()

    ours = subprocess.run(
        [args.reasonflux, "generate", "--model", args.checkpoint, "--chat", "--greedy",
         "--max-new-tokens", str(args.tokens), "--json", "--prompt", PROMPT],
        check=True, capture_output=True, text=True,
    ).stdout
    result = json.loads(ours.strip().splitlines()[-1])
    our_new = result["token_ids"]
    n = min(len(hf_new), len(our_new))
    agree = next((i for i in range(n) if hf_new[i] != our_new[i]), n)
    print(json.dumps({
        "checkpoint": args.checkpoint,
        "prompt_tokens_hf": ids.shape[1],
        "prompt_tokens_ours": result.get("prompt_tokens"),
        "greedy_tokens_compared": n,
        "greedy_tokens_identical_prefix": agree,
        "hf_text": tok.decode(hf_new),
        "our_text": result.get("text"),
    }, indent=2))
    if ids.shape[1] != result.get("prompt_tokens") or agree < n:
        raise SystemExit("mismatch")


if __name__ == "__main__":
    main()
