#!/usr/bin/env python3
"""Reference sentence embeddings of all-MiniLM-L6-v2 from sentence-transformers, for
rf-embed's parity test (crates/rf-embed/tests/parity.rs).

Writes tests/fixtures/minilm/embeddings.json: the model file's sha256, and for each text its
token ids (as sentence-transformers tokenises it: [CLS] ... [SEP], cut at max_seq_length) and
its normalised embedding, computed on CPU in float32.

Needs: torch, sentence-transformers (see tests/fixtures/README.md).
Usage: python scripts/make-embed-fixtures.py [--model assets/all-MiniLM-L6-v2]
"""
import argparse
import hashlib
import json
import os

import torch
from sentence_transformers import SentenceTransformer

TEXTS = [
    "A triangle has sides 13, 14 and 15. Find its area.",
    "Heron's formula: area of a triangle from its three side lengths",
    "Compute $(1 + i)^{12}$.",
    "Find $\\sum_{k=1}^{99} \\frac{1}{k(k+1)}$.",
    "Chinese Remainder Theorem for Simultaneous Congruences",
    "How many ways can 8 people sit around a round table if two of them refuse to sit next to each other?",
    "Résumé: naïve café — ünïcödé and CJK 数学 text",
    "x",
    # Longer than max_seq_length (256 tokens): checks the cut.
    " ".join(["Let the sequence a_n satisfy a_{n+1} = 2 a_n + 3 with a_1 = 1; find a_10."] * 20),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="assets/all-MiniLM-L6-v2")
    ap.add_argument("--out", default="tests/fixtures/minilm/embeddings.json")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu")
    with open(os.path.join(args.model, "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    cases = []
    for text in TEXTS:
        features = model.tokenize([text])
        ids = features["input_ids"][0].tolist()
        emb = model.encode([text], convert_to_numpy=True, normalize_embeddings=False)[0]
        cases.append({"text": text, "ids": ids, "embedding": [round(float(x), 7) for x in emb]})
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"model_sha256": sha, "max_seq_length": model.max_seq_length, "cases": cases}, f)
        f.write("\n")
    print(f"wrote {args.out}: {len(cases)} texts")


if __name__ == "__main__":
    main()
