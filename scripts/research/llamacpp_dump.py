#!/usr/bin/env python3
"""Re-run the llama.cpp greedy reference (same settings as
scripts/make-llamacpp-reference.py, but n_threads=1) and dump the FULL logits of
every step to an .npz, so emulate.py can compare against all 49152 logits.

Usage: OMP_NUM_THREADS=1 python scripts/research/llamacpp_dump.py [--out /tmp/research/llamacpp_logits.npz]
"""
import argparse, json, os
import numpy as np
from llama_cpp import Llama

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/research/llamacpp_logits.npz")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    ref = json.load(open(os.path.join(ROOT, "tests/fixtures/llamacpp/smollm2-greedy.json")))
    llm = Llama(model_path=os.path.join(ROOT, ref["model_file"]), n_ctx=512, n_threads=a.threads,
                n_threads_batch=a.threads, seed=0, logits_all=False, verbose=False)
    out = {}
    for k, r in enumerate(ref["results"]):
        llm.reset(); llm.eval(r["prompt_ids"])
        toks, L = [], []
        for _ in range(r["max_new_tokens"]):
            lg = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).copy()
            L.append(lg); t = int(np.argmax(lg)); toks.append(t); llm.eval([t])
        same = toks == r["new_token_ids"]
        print(f"prompt {k} ({r['name']}): tokens identical to fixture: {same}")
        out[f"logits{k}"] = np.stack(L); out[f"tokens{k}"] = np.array(toks)
    np.savez(a.out, **out)

if __name__ == "__main__":
    main()
