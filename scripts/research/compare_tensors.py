#!/usr/bin/env python3
"""Compare emulate.py intermediates with llama.cpp's (from llamacpp_tensors.py) for one prompt batch.
Usage: python scripts/research/compare_tensors.py --flags a,b,c [--layers 0,1,29] [--isolated]
--isolated: feed each op llama.cpp's own input, to test single-op emulation exactly."""
import argparse, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import emulate as E

ap = argparse.ArgumentParser()
ap.add_argument("--flags", default="")
ap.add_argument("--prompt", type=int, default=0)
ap.add_argument("--tensors", default="/tmp/research/tensors0.npz")
ap.add_argument("--layers", default="0,1,2,15,29")
ap.add_argument("--isolated", action="store_true")
a = ap.parse_args()
ref = json.load(open(os.path.join(E.ROOT, "tests/fixtures/llamacpp/smollm2-greedy.json")))
R = dict(np.load(a.tensors))
W = E.load(os.path.join(E.ROOT, ref["model_file"]))
c = E.Ctx([f for f in a.flags.split(",") if f])
m = E.Model(W, c)
ids = ref["results"][a.prompt]["prompt_ids"]
T = len(ids)
def r(name):
    return R[f"s0:{name}"].reshape(T, -1)
def rep(name, mine, theirs):
    d = np.abs(mine.reshape(theirs.shape) - theirs)
    rel = d.max() / (np.abs(theirs).max() + 1e-30)
    print(f"{name:16s} max|d| {d.max():.3e} rel {rel:.2e} exact {np.mean(d == 0) * 100:5.1f}%")
if not a.isolated:
    tr = {}
    lg = m.forward(ids, trace=tr)[0]
    for li in [int(x) for x in a.layers.split(",")]:
        for n in ["attn_norm", "Vcur", "Qcur", "Kcur", "kqv_out", "attn_out", "ffn_inp", "ffn_norm", "ffn_gate", "ffn_up", "ffn_swiglu", "ffn_out", "l_out"]:
            k = f"s0:{n}-{li}"
            if k in R:
                rep(f"{n}-{li}", tr[f"{n}-{li}"], r(f"{n}-{li}"))
    rep("logits", lg, R["s0:logits"].reshape(1, -1))
else:
    for li in [int(x) for x in a.layers.split(",")]:
        L = W[li]
        x_in = r(f"l_out-{li-1}") if li > 0 else r("embd")
        rep(f"attn_norm-{li}", c.rmsnorm(x_in, L["attn_norm"]), r(f"attn_norm-{li}"))
        h = r(f"attn_norm-{li}")
        rep(f"Vcur-{li}", c.mm(h, L["v"]), r(f"Vcur-{li}"))
        rep(f"Kcur(rope)-{li}", c.rope(c.mm(h, L["k"]).reshape(T, 3, 64), c.rope_cs(np.arange(T))), r(f"Kcur-{li}"))
        rep(f"attn_out-{li}", c.mm(r(f"kqv_out-{li}"), L["o"]), r(f"attn_out-{li}"))
        h = r(f"ffn_norm-{li}")
        rep(f"ffn_gate-{li}", c.mm(h, L["gate"]), r(f"ffn_gate-{li}"))
        rep(f"ffn_swiglu-{li}", c.silu_mul(r(f"ffn_gate-{li}"), r(f"ffn_up-{li}")), r(f"ffn_swiglu-{li}"))
        rep(f"ffn_out-{li}", c.mm(r(f"ffn_swiglu-{li}"), L["down"]), r(f"ffn_out-{li}"))
        rep(f"ffn_norm-{li}", c.rmsnorm(r(f"ffn_inp-{li}"), L["ffn_norm"]), r(f"ffn_norm-{li}"))
    h = E.Ctx(c.f).rmsnorm(r("l_out-29")[-1:], W["out_norm"])
    if "s0:result_norm" in R:
        rep("result_norm", h, R["s0:result_norm"].reshape(-1, 576)[-1:])
        h = R["s0:result_norm"].reshape(-1, 576)[-1:]
    rep("logits", c.mm(h, W["tok"]), R["s0:logits"].reshape(1, -1))
