#!/usr/bin/env python3
"""Dump llama.cpp's intermediate graph tensors (via the cb_eval scheduler callback) for
one prompt evaluated as a single batch, same context settings as the reference
(n_ctx 512, flash attention off, f16 KV cache), n_threads=1.

Usage: OMP_NUM_THREADS=1 python scripts/research/llamacpp_tensors.py [--prompt 0] [--out /tmp/research/tensors0.npz]
"""
import argparse, ctypes, json, os
import numpy as np
import llama_cpp as L

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
base = ctypes.CDLL(os.path.join(os.path.dirname(L.__file__), "lib", "libggml-base.so"))
base.ggml_get_name.restype = ctypes.c_char_p; base.ggml_get_name.argtypes = [ctypes.c_void_p]
base.ggml_nbytes.restype = ctypes.c_size_t; base.ggml_nbytes.argtypes = [ctypes.c_void_p]
base.ggml_is_contiguous.restype = ctypes.c_bool; base.ggml_is_contiguous.argtypes = [ctypes.c_void_p]
base.ggml_get_data.restype = ctypes.c_void_p; base.ggml_get_data.argtypes = [ctypes.c_void_p]
TYPES = {0: np.float32, 1: np.float16}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompt", type=int, default=0)
    ap.add_argument("--extra", default="", help="comma-separated extra token ids appended (decoded one by one after the prompt)")
    ap.add_argument("--out", default="/tmp/research/tensors0.npz")
    a = ap.parse_args()
    ref = json.load(open(os.path.join(ROOT, "tests/fixtures/llamacpp/smollm2-greedy.json")))
    ids = ref["results"][a.prompt]["prompt_ids"]
    store = {}
    step = [0]

    @L.ggml_backend_sched_eval_callback
    def cb(t, ask, ud):
        if ask:
            return True
        name = base.ggml_get_name(t).decode()
        ty = ctypes.cast(t, ctypes.POINTER(ctypes.c_int32))[0]
        ne = list(ctypes.cast(t + 16, ctypes.POINTER(ctypes.c_int64))[0:4])
        if ty in TYPES and base.ggml_is_contiguous(t):
            n = int(np.prod(ne))
            buf = (ctypes.c_char * base.ggml_nbytes(t)).from_address(base.ggml_get_data(t))
            arr = np.frombuffer(bytes(buf), dtype=TYPES[ty], count=n).reshape(ne[::-1]).copy()
            store[f"s{step[0]}:{name}"] = arr
        return True

    L.llama_backend_init()
    mp = L.llama_model_default_params()
    model = L.llama_model_load_from_file(os.path.join(ROOT, ref["model_file"]).encode(), mp)
    cp = L.llama_context_default_params()
    cp.n_ctx = 512; cp.n_batch = 512; cp.n_ubatch = 512; cp.n_threads = 1; cp.n_threads_batch = 1
    cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
    cp.cb_eval = cb
    ctx = L.llama_init_from_model(model, cp)
    seqs = [ids] + [[int(x)] for x in a.extra.split(",") if x]
    pos = 0
    for s in seqs:
        b = L.llama_batch_init(len(s), 0, 1)
        for i, tk in enumerate(s):
            b.token[i] = tk; b.pos[i] = pos + i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0
            b.logits[i] = 1 if i == len(s) - 1 else 0
        b.n_tokens = len(s)
        assert L.llama_decode(ctx, b) == 0
        pos += len(s)
        lg = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(49152,)).copy()
        store[f"s{step[0]}:logits"] = lg
        L.llama_batch_free(b)
        step[0] += 1
    np.savez(a.out, **store)
    print("\n".join(f"{k} {v.shape} {v.dtype}" for k, v in list(store.items())[:40]))
    print(len(store), "tensors")

if __name__ == "__main__":
    main()
