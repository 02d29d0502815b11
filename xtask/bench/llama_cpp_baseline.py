"""llama.cpp baseline for `cargo xtask bench models`.

Runs the same GGUF as host/models/benches/throughput.rs through llama-cpp-python (2 threads),
with and without flash attention: decode tok/s (128 new tokens after the bench's short prompt,
greedy) and prefill tok/s (the bench's 512-token prompt), medians of 5 after one warm-up.
Prints `key=value` lines last. Runs in the bench venv outside the repository (building
llama-cpp-python from source takes ~25 minutes on 2 cores); nothing in CI uses it.

Usage: python llama_cpp_baseline.py <model.gguf>
"""

import statistics
import sys
import time

from llama_cpp import Llama

RUNS = 5
THREADS = 2
SHORT = "Once upon a time, in a small village at the edge of a great forest,"
LONG = "The quick brown fox jumps over the lazy dog near the river bank. " * 64


def decode(llm: Llama, prompt: list[int], new_tokens: int) -> float:
    llm.reset()
    tokens = llm.generate(prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0)
    next(tokens)  # the prompt's prefill and the first token: not timed
    started = time.perf_counter()
    for _ in range(new_tokens):
        next(tokens)
    return new_tokens / (time.perf_counter() - started)


def prefill(llm: Llama, prompt: list[int]) -> float:
    llm.reset()
    started = time.perf_counter()
    llm.eval(prompt)
    return len(prompt) / (time.perf_counter() - started)


def measure(path: str, flash_attn: bool) -> tuple[float, float]:
    llm = Llama(
        model_path=path,
        n_ctx=2048,
        n_batch=512,
        n_ubatch=512,
        n_threads=THREADS,
        n_threads_batch=THREADS,
        flash_attn=flash_attn,
        verbose=False,
    )
    short = llm.tokenize(SHORT.encode(), add_bos=False)
    long = llm.tokenize(LONG.encode(), add_bos=False)[:512]
    decode(llm, short, 16)
    decode_rate = statistics.median(decode(llm, short, 128) for _ in range(RUNS))
    prefill(llm, long)
    prefill_rate = statistics.median(prefill(llm, long) for _ in range(RUNS))
    return decode_rate, prefill_rate


def main() -> None:
    path = sys.argv[1]
    import llama_cpp

    print(f"llama-cpp-python {llama_cpp.__version__}, {THREADS} threads, medians of {RUNS}")
    results = {}
    for flash_attn in (False, True):
        decode_rate, prefill_rate = measure(path, flash_attn)
        suffix = "_fa" if flash_attn else ""
        results[f"decode_tok_s{suffix}"] = decode_rate
        results[f"prefill_tok_s{suffix}"] = prefill_rate
    for key, value in results.items():
        print(f"{key}={value:.1f}")


if __name__ == "__main__":
    main()
