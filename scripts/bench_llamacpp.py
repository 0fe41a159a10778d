"""llama.cpp side of scripts/bench-llamacpp.sh: the method of `reasonflux bench`, figures under
the same JSON field names (prefill_tok_s, decode_tok_s, peak_rss_mib, load_s, ...)."""
import argparse
import json
import resource
import statistics
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama

SEED = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def argmax_last(llm):
    ptr = llm._ctx.get_logits_ith(-1)
    return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),))))


def run(llm, ids, decode_tokens):
    """One prefill of `ids`, then `decode_tokens` single-token steps (argmax, no stop)."""
    llm.reset()
    t = time.perf_counter()
    llm.eval(ids)
    tok = argmax_last(llm)
    prefill = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(decode_tokens):
        llm.eval([tok])
        tok = argmax_last(llm)
    return prefill, time.perf_counter() - t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--decode-tokens", type=int, default=64)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json")
    a = p.parse_args()
    t = time.perf_counter()
    llm = Llama(model_path=a.model, n_ctx=a.prompt_tokens + a.decode_tokens + 8, n_batch=512,
                n_threads=a.threads, n_threads_batch=a.threads, logits_all=False, verbose=False)
    load_s = time.perf_counter() - t
    seed = llm.tokenize(SEED.encode(), add_bos=False, special=False)
    ids = (seed * (a.prompt_tokens // len(seed) + 1))[: a.prompt_tokens]
    prefill, decode = [], []
    for i in range(a.runs + 1):
        p_s, d_s = run(llm, ids, a.decode_tokens)
        if i > 0:  # the first run warms caches and allocators
            prefill.append(len(ids) / p_s)
            decode.append(a.decode_tokens / d_s)
    result = {
        "engine": "llama.cpp",
        "llama_cpp_python_version": llama_cpp.__version__,
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "model": a.model,
        "device": "cpu",
        "weights": "quant",
        "threads": a.threads,
        "load_s": load_s,
        "prompt_tokens": len(ids),
        "prefill_tok_s": statistics.median(prefill),
        "decode_tokens": a.decode_tokens,
        "decode_tok_s": statistics.median(decode),
        "runs": a.runs,
        "peak_rss_mib": peak_rss_mib(),
    }
    print(f"| llama.cpp {llama_cpp.__version__} | {a.model.split('/')[-1]} | {a.threads} | {load_s:.2f} | "
          f"{len(ids)} | {result['prefill_tok_s']:.1f} | {a.decode_tokens} | {result['decode_tok_s']:.2f} | "
          f"{result['peak_rss_mib']:.0f} |")
    print(json.dumps(result))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
