#!/usr/bin/env python3
"""Numpy forward pass of SmolLM2-135M-Instruct (GGUF Q4_1) that can emulate,
flag by flag, the numerics of llama.cpp's CPU backend (x86 AVX2 build, flash
attention off, f16 KV cache -- the settings of scripts/make-llamacpp-reference.py).

Flags (comma separated, default none = plain f32 like the Rust engine):
  a     activation quantisation before quantised matmuls (AVX2 semantics):
        Q4_1 weights -> activation row to Q8_1, Q8_0 weights -> activation to Q8_0
        d = amax/127 (f32), q = rint_half_even(x * (127/amax)), y.d = f16(d),
        y.s = f16(d * sum(q));   dot = sum_b f16(dw)*f16(dx)*isum_b + f16(mw)*f16(sx)
  aref  same but ggml reference semantics: id = 1/d, q = roundf (half away from zero)
  b     f16 KV cache (K after RoPE and V rounded to f16)
  c     attention like ggml mul_mat with f16 K/V: Q rounded to f16 before K.Q,
        softmax probabilities rounded to f16 before V.P
  rope  ggml rope cache: theta_scale = powf(base, -2/n_dims) (f32), theta = pos (f32),
        theta *= theta_scale per pair (f32, repeated multiplication), cosf/sinf (f32)
  exp   ggml_v_expf (AVX2 polynomial exp) in SiLU and softmax instead of exact expf
  order exact AVX2 accumulation order inside the quantised dot products (8 f32 FMA
        lanes + hsum_float_8 + summs) instead of an f64 sum rounded to f32
  fma   RoPE rotation with fused multiply-add (x0*c - x1*s as fma(x0,c,-x1*s))

Prints, per prompt, the free-running greedy match length against the llama.cpp
fixture, and teacher-forced (on llama.cpp's tokens) argmax agreement and max |logit diff|
(needs /tmp/research/llamacpp_logits.npz from llamacpp_dump.py; else uses fixture top-5).

Usage: OMP_NUM_THREADS=1 python scripts/research/emulate.py --flags a,b,c [--prompts 0,1,2]
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import gguf  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
F32, F64, F16 = np.float32, np.float64, np.float16

N_LAYER, D, NH, NKV, HD, FF = 30, 576, 9, 3, 64, 1536
ROPE_BASE, EPS = 100000.0, F32(9.999999747378752e-06)


# ----------------------------------------------------------------------------- weights
class QW:
    """A quantised matrix [N rows, K cols]: q ints (N, nb, 32), d/m per block (f32 of f16)."""

    def __init__(self, t):
        raw = np.asarray(t.data)
        N = raw.shape[0]
        self.kind = t.tensor_type.name
        if self.kind == "Q4_1":
            b = raw.reshape(N, -1, 20)
            self.d = b[..., 0:2].copy().view(F16)[..., 0].astype(F32)
            self.m = b[..., 2:4].copy().view(F16)[..., 0].astype(F32)
            qs = b[..., 4:]
            self.q = np.concatenate([qs & 15, qs >> 4], axis=-1).astype(F32)  # 0..15
            self.w = (self.q * self.d[..., None] + self.m[..., None]).reshape(N, -1).astype(F32)
        elif self.kind == "Q8_0":
            b = raw.reshape(N, -1, 34)
            self.d = b[..., 0:2].copy().view(F16)[..., 0].astype(F32)
            self.m = None
            self.q = b[..., 2:].copy().view(np.int8).astype(F32)
            self.w = (self.q * self.d[..., None]).reshape(N, -1).astype(F32)
        else:
            raise ValueError(self.kind)
        self.N, self.nb = self.q.shape[0], self.q.shape[1]
        self.qT = np.ascontiguousarray(self.q.transpose(1, 2, 0))  # (nb, 32, N)


def load(path):
    r = gguf.GGUFReader(path)
    T = {t.name: t for t in r.tensors}
    W = {"tok": QW(T["token_embd.weight"]), "out_norm": np.asarray(T["output_norm.weight"].data, F32)}
    for i in range(N_LAYER):
        p = f"blk.{i}."
        W[i] = {
            "attn_norm": np.asarray(T[p + "attn_norm.weight"].data, F32),
            "ffn_norm": np.asarray(T[p + "ffn_norm.weight"].data, F32),
            **{k: QW(T[p + n + ".weight"]) for k, n in
               [("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_output"),
                ("gate", "ffn_gate"), ("up", "ffn_up"), ("down", "ffn_down")]},
        }
    return W


# ----------------------------------------------------------------------------- helpers
def fma32(a, b, c):
    """f32 fused multiply-add emulated via f64 (a*b exact in f64)."""
    return (a.astype(F64) * b.astype(F64) + c.astype(F64)).astype(F32)


def v_expf(x):
    """ggml_v_expf (AVX2+FMA) bit-emulation for |n| <= 126 (no overflow branch needed here)."""
    x = np.asarray(x, F32)
    r = F32(float.fromhex("0x1.8p23"))
    z = fma32(x, np.full_like(x, F32(float.fromhex("0x1.715476p+0"))), np.full_like(x, r))
    n = (z - r).astype(F32)
    b = fma32(-n, np.full_like(x, F32(float.fromhex("0x1.7f7d1cp-20"))), fma32(-n, np.full_like(x, F32(float.fromhex("0x1.62e4p-1"))), x))
    e = (z.view(np.int32).astype(np.int64) << 23).astype(np.int64) & 0xFFFFFFFF
    k = ((e + np.array(F32(1)).view(np.int32).astype(np.int64)) & 0xFFFFFFFF).astype(np.uint32).view(F32)
    u = (b * b).astype(F32)
    C = lambda v: np.full_like(x, F32(v))  # noqa: E731
    j = fma32(fma32(fma32(C(float.fromhex("0x1.0e4020p-7")), b, C(float.fromhex("0x1.573e2ep-5"))), u,
                    fma32(C(float.fromhex("0x1.555e66p-3")), b, C(float.fromhex("0x1.fffdb6p-2")))),
              u, (C(float.fromhex("0x1.ffffecp-1")) * b).astype(F32))
    out = fma32(j, k, k)
    big = np.abs(n) > 126
    if big.any():  # fall back to exact for the (rare) extreme range
        out[big] = np.exp(x[big].astype(F64)).astype(F32)
    return out


def hsum8(acc):
    """hsum_float_8 on (..., 8) f32 lanes."""
    r = (acc[..., 4:8] + acc[..., 0:4]).astype(F32)
    r2 = (r[..., 0:2] + r[..., 2:4]).astype(F32)
    return (r2[..., 0] + r2[..., 1]).astype(F32)


def quant_act(x, ref=False, with_sum=False):
    """Quantise rows x (T, K) f32 into blocks of 32 -> (q (T,nb,32) f32 ints, d f32(f16), s f32(f16))."""
    T, K = x.shape
    xb = x.reshape(T, K // 32, 32).astype(F32)
    amax = np.abs(xb).max(-1).astype(F32)
    d = (amax / F32(127)).astype(F32)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ref:  # quantize_row_q8_1_ref / q8_0_ref: id = 1/d, roundf (half away from zero)
            idd = np.where(d != 0, F32(1) / d, F32(0)).astype(F32)
            v = (xb * idd[..., None]).astype(F32)
            q = (np.sign(v) * np.floor(np.abs(v) + F32(0.5))).astype(F32)
        else:  # AVX2: id = 127/amax, _mm256_round_ps(NEAREST) = round half to even
            idd = np.where(amax != 0, F32(127) / amax, F32(0)).astype(F32)
            q = np.rint((xb * idd[..., None]).astype(F32)).astype(F32)
    dh = d.astype(F16).astype(F32)
    s = None
    if with_sum:
        s = (d * q.sum(-1)).astype(F32).astype(F16).astype(F32)
    return q, dh, s


class Ctx:
    def __init__(self, flags):
        self.f = set(flags)

    # --- matmul y = x @ W^T for quantised W
    def mm(self, x, W):
        f = self.f
        if not ({"a", "aref"} & f):
            return (x.astype(F32) @ W.w.T).astype(F32)
        isq41 = W.kind == "Q4_1"
        q, dx, sx = quant_act(x, ref="aref" in f, with_sum=isq41)
        # integer block dots, exact in f32: (nb, T, 32) @ (nb, 32, N) -> (nb, T, N)
        isum = np.matmul(q.transpose(1, 0, 2), W.qT)
        dd = (W.d.T[:, None, :] * dx.T[:, :, None]).astype(F32)  # (nb, T, N)  f16(dw)*f16(dx) in f32
        if "order" in f:
            # AVX2 vec_dot_q4_1_q8_1 / q8_0_q8_0: per block, 8 lanes each holding a partial int sum
            # of 4 consecutive products ; acc_lane = fma(d0d1, float(lane), acc_lane)
            qq = q.reshape(q.shape[0], W.nb, 8, 4)
            if isq41:
                # bytes_from_nibbles_32: lanes 0..3 = low nibbles (elems 0..15), lanes 4..7 high (16..31)
                pass  # element order already 0..31, lanes = groups of 4 consecutive elements
            lanes = np.einsum("tblk,nblk->btnl", qq, W.q.reshape(W.N, W.nb, 8, 4), optimize=True).astype(F32)
            T = x.shape[0]
            acc = np.zeros((T, W.N, 8), F32)
            summs = np.zeros((T, W.N), F32)
            for b in range(W.nb):
                if isq41:
                    summs = (summs + (W.m[:, b][None, :] * sx[:, b][:, None]).astype(F32)).astype(F32)
                acc = fma32(np.broadcast_to(dd[b][..., None], acc.shape), lanes[b], acc)
            return (hsum8(acc) + summs).astype(F32)
        y = (dd.astype(F64) * isum).sum(0)
        if isq41:
            y = y + (W.m.astype(F64)[None, :, :] * sx.astype(F64)[:, None, :]).sum(-1)
        return y.astype(F32)

    def rmsnorm(self, x, w):
        ss = (x * x).astype(F32).astype(F64).sum(-1)  # ggml: sum += (ggml_float)(x*x)
        mean = (ss / x.shape[-1]).astype(F32)
        scale = (F32(1) / np.sqrt((mean + EPS).astype(F32))).astype(F32)
        return ((x * scale[:, None]).astype(F32) * w).astype(F32)

    def rope_cs(self, pos):
        """cos/sin (T, 32) for positions pos."""
        pos = np.asarray(pos)
        if "rope" in self.f:
            ts = F32(np.power(F32(ROPE_BASE), F32(-2.0) / F32(HD), dtype=F32))
            theta = pos.astype(F32)
            th = np.empty((len(pos), HD // 2), F32)
            for i in range(HD // 2):
                th[:, i] = theta
                theta = (theta * ts).astype(F32)
            return np.cos(th).astype(F32), np.sin(th).astype(F32)
        # HF style: inv_freq = 1/(base^(arange(0,d,2)/d)) in f32, theta = pos*inv_freq (f32)
        inv = (F32(1.0) / np.power(F32(ROPE_BASE), (np.arange(0, HD, 2, dtype=F32) / F32(HD)))).astype(F32)
        th = (pos.astype(F32)[:, None] * inv[None, :]).astype(F32)
        return np.cos(th).astype(F32), np.sin(th).astype(F32)

    def rope(self, x, cs):
        """NORM-mode rope on GGUF (permuted) rows: adjacent pairs. x (T, H, 64)."""
        c, s = cs
        c, s = c[:, None, :], s[:, None, :]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        if "fma" in self.f:
            out[..., 0::2] = fma32(x0, np.broadcast_to(c, x0.shape), -(x1 * s).astype(F32))
            out[..., 1::2] = fma32(x0, np.broadcast_to(s, x0.shape), (x1 * c).astype(F32))
        else:
            out[..., 0::2] = ((x0 * c).astype(F32) - (x1 * s).astype(F32)).astype(F32)
            out[..., 1::2] = ((x0 * s).astype(F32) + (x1 * c).astype(F32)).astype(F32)
        return out

    def exp(self, x):
        if "exp" in self.f:
            return v_expf(x)
        return np.exp(x.astype(F64)).astype(F32)

    def silu_mul(self, g, u):
        sg = (g / (F32(1) + self.exp(-g)).astype(F32)).astype(F32)
        return (sg * u).astype(F32)

    def attention(self, q, kc, vc, pos):
        """q (T, NH, HD) roped; kc/vc (S, NKV, HD) cache incl. current tokens; pos (T,)."""
        S = kc.shape[0]
        if "c" in self.f:
            q = q.astype(F16).astype(F32)
        out = np.empty((q.shape[0], NH, HD), F32)
        mask = np.arange(S)[None, :] > np.asarray(pos)[:, None]  # (T, S)
        for h in range(NH):
            kv = h // (NH // NKV)
            kq = (q[:, h, :].astype(F64) @ kc[:, kv, :].astype(F64).T).astype(F32)  # (T, S)
            kq = (kq * F32(0.125)).astype(F32)
            kq[mask] = -np.inf
            mx = kq.max(-1, keepdims=True)
            e = self.exp((kq - mx).astype(F32))
            e[mask] = 0
            ssum = e.astype(F64).sum(-1, keepdims=True)
            p = (e * (1.0 / ssum).astype(F32)).astype(F32)
            if "c" in self.f:
                p = p.astype(F16).astype(F32)
            out[:, h, :] = (p.astype(F64) @ vc[:, kv, :].astype(F64)).astype(F32)
        return out


class Model:
    def __init__(self, W, ctx):
        self.W, self.c = W, ctx
        self.reset()

    def reset(self):
        self.k = [np.zeros((0, NKV, HD), F32) for _ in range(N_LAYER)]
        self.v = [np.zeros((0, NKV, HD), F32) for _ in range(N_LAYER)]
        self.n = 0

    def forward(self, toks, logit_rows=None):
        """Evaluate toks at positions self.n.. ; returns logits for rows logit_rows (default last)."""
        W, c = self.W, self.c
        T = len(toks)
        pos = np.arange(self.n, self.n + T)
        x = W["tok"].w[np.asarray(toks)].astype(F32)
        cs = c.rope_cs(pos)
        for i in range(N_LAYER):
            L = W[i]
            h = c.rmsnorm(x, L["attn_norm"])
            q = c.rope(c.mm(h, L["q"]).reshape(T, NH, HD), cs)
            k = c.rope(c.mm(h, L["k"]).reshape(T, NKV, HD), cs)
            v = c.mm(h, L["v"]).reshape(T, NKV, HD)
            if "b" in c.f:
                k, v = k.astype(F16).astype(F32), v.astype(F16).astype(F32)
            self.k[i] = np.concatenate([self.k[i], k])
            self.v[i] = np.concatenate([self.v[i], v])
            a = c.attention(q, self.k[i], self.v[i], pos).reshape(T, D)
            x = (x + c.mm(a, L["o"])).astype(F32)
            h = c.rmsnorm(x, L["ffn_norm"])
            ff = c.silu_mul(c.mm(h, L["gate"]), c.mm(h, L["up"]))
            x = (x + c.mm(ff, L["down"])).astype(F32)
        self.n += T
        rows = [T - 1] if logit_rows is None else logit_rows
        h = c.rmsnorm(x[rows], W["out_norm"])
        return c.mm(h, W["tok"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flags", default="")
    ap.add_argument("--prompts", default="0,1,2")
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--no-tf", action="store_true", help="skip teacher-forced comparison")
    ap.add_argument("--dump", default="/tmp/research/llamacpp_logits.npz")
    a = ap.parse_args()
    flags = [f for f in a.flags.split(",") if f]
    ref = json.load(open(os.path.join(ROOT, "tests/fixtures/llamacpp/smollm2-greedy.json")))
    W = load(os.path.join(ROOT, ref["model_file"]))
    full = np.load(a.dump) if os.path.exists(a.dump) else None
    m = Model(W, Ctx(flags))
    summary = []
    for pi in [int(p) for p in a.prompts.split(",")]:
        r = ref["results"][pi]
        want = r["new_token_ids"][: a.steps]
        # free running: prompt as one batch, then one token per step (like the reference)
        m.reset()
        lg = m.forward(r["prompt_ids"])[0]
        got = []
        for s in range(len(want)):
            t = int(np.argmax(lg))
            got.append(t)
            if t != want[s]:
                break
            if s + 1 < len(want):
                lg = m.forward([t])[0]
        match = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), len(want))
        line = f"prompt {pi} ({r['name']}): free-running match {match}/{len(want)}"
        if not a.no_tf:
            m.reset()
            seq = r["prompt_ids"] + want[:-1]
            n0 = len(r["prompt_ids"])
            L = m.forward(seq, logit_rows=list(range(n0 - 1, len(seq))))
            agree = int((L.argmax(-1) == np.array(want)).sum())
            if full is not None:
                ref_l = full[f"logits{pi}"][: len(want)]
                diff = np.abs(L - ref_l)
                line += f" | teacher-forced argmax {agree}/{len(want)}, max|dlogit| {diff.max():.4g}, mean {diff.mean():.3g}"
            else:
                top = np.array([st["top_logits"] for st in r["steps"][: len(want)]])
                ids = np.array([st["top_ids"] for st in r["steps"][: len(want)]])
                d5 = np.abs(np.take_along_axis(L, ids, 1) - top).max()
                line += f" | teacher-forced argmax {agree}/{len(want)}, max|dlogit top5| {d5:.4g}"
        print(line, flush=True)
        summary.append(match)
    print(f"flags={','.join(flags) or 'f32'} matches={summary}")


if __name__ == "__main__":
    sys.exit(main())
