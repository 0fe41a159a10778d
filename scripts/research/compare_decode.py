#!/usr/bin/env python3
"""Compare emulate.py against llama.cpp intermediates for decode steps (one token per llama_decode
after the prompt batch). Needs llamacpp_tensors.py --extra ids output.
Usage: python scripts/research/compare_decode.py --flags ... --extra 7042,30,198 --tensors /tmp/research/tensors0x.npz"""
import argparse, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import emulate as E

ap = argparse.ArgumentParser()
ap.add_argument("--flags", default="")
ap.add_argument("--prompt", type=int, default=0)
ap.add_argument("--extra", default="7042,30,198")
ap.add_argument("--tensors", default="/tmp/research/tensors0x.npz")
ap.add_argument("--layers", default="0,1,29")
a = ap.parse_args()
ref = json.load(open(os.path.join(E.ROOT, "tests/fixtures/llamacpp/smollm2-greedy.json")))
R = dict(np.load(a.tensors))
W = E.load(os.path.join(E.ROOT, ref["model_file"]))
m = E.Model(W, E.Ctx([f for f in a.flags.split(",") if f]))
seqs = [ref["results"][a.prompt]["prompt_ids"]] + [[int(x)] for x in a.extra.split(",")]
for s, toks in enumerate(seqs):
    tr = {}
    lg = m.forward(toks, trace=tr)
    tr["logits"] = lg
    names = ["logits"] + [f"{n}-{li}" for li in map(int, a.layers.split(",")) for n in
             ["attn_norm", "Vcur", "Qcur", "Kcur", "kqv_out", "attn_out", "ffn_inp", "ffn_norm", "ffn_gate", "ffn_up", "ffn_swiglu", "ffn_out", "l_out"]]
    for n in names:
        k = f"s{s}:{n}"
        if k not in R:
            continue
        th = R[k].reshape(-1)
        mine = tr[n].reshape(-1)[-th.size:]
        d = np.abs(mine - th)
        print(f"step {s} {n:14s} max|d| {d.max():.3e} exact {np.mean(d == 0) * 100:5.1f}%")
