"""sentence-transformers baseline for `cargo xtask bench models`.

Embeds the same 32 sentences as host/models/benches/throughput.rs (one batch of 32, 2 torch
threads, median of 5 timed runs after one warm-up) with all-MiniLM-L6-v2 from the local model
folder, and prints `sentences_per_s=<value>` last. Runs in a bench venv outside the
repository (see the bench's skip message); nothing in CI uses it.

Usage: python minilm_baseline.py <minilm model dir>
"""

import statistics
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

RUNS = 5
THREADS = 2


def main() -> None:
    model_dir = sys.argv[1]
    torch.set_num_threads(THREADS)
    model = SentenceTransformer(model_dir, device="cpu")
    sentences = [
        f"Sentence number {i} talks about the weather, the office, the quarterly roadmap "
        "and a short walk in the park today."
        for i in range(32)
    ]
    model.encode(sentences, batch_size=32)
    rates = []
    for _ in range(RUNS):
        started = time.perf_counter()
        model.encode(sentences, batch_size=32)
        rates.append(len(sentences) / (time.perf_counter() - started))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, rates {rates}")
    print(f"sentences_per_s={statistics.median(rates):.1f}")


if __name__ == "__main__":
    main()
