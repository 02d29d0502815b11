"""Chroma + sentence-transformers baseline for `cargo xtask bench knowledge`.

The pipeline a team would write without Mantle, on the files the Rust bench wrote
(host/knowledge/benches/knowledge/ingestion.rs): read each .txt, split it into windows of 300
tokens of the embedding model's own tokenizer with 20% overlap (Bedrock's default, what
Mantle's fixed-size chunker does), embed the chunks with sentence-transformers (the same
all-MiniLM-L6-v2 files, batch 32, normalised, 2 torch threads) and add them to a persistent
Chroma collection (HNSW, cosine). Timed from the first file read to the last add. Prints
`chunks=` and `seconds=` last. Runs in the bench venv outside the repository
(`pip install torch sentence-transformers chromadb`); nothing in CI uses it.

Usage: python chroma_baseline.py <folder of .txt files> <model dir>
"""

import sys
import tempfile
import time
from pathlib import Path

import chromadb
import torch
from sentence_transformers import SentenceTransformer

MAX_TOKENS = 300
OVERLAP = 0.2
BATCH = 32


def chunks(tokenizer, text: str) -> list[str]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    step = MAX_TOKENS - int(MAX_TOKENS * OVERLAP)
    pieces = []
    for start in range(0, len(ids), step):
        pieces.append(tokenizer.decode(ids[start : start + MAX_TOKENS]))
        if start + MAX_TOKENS >= len(ids):
            break
    return pieces


def main() -> None:
    folder, model_dir = Path(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(2)
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode(["warm up"])
    with tempfile.TemporaryDirectory() as store:
        client = chromadb.PersistentClient(path=store)
        collection = client.create_collection("bench", metadata={"hnsw:space": "cosine"})
        started = time.perf_counter()
        total = 0
        for path in sorted(folder.glob("*.txt")):
            texts = chunks(model.tokenizer, path.read_text())
            vectors = model.encode(texts, batch_size=BATCH, normalize_embeddings=True)
            collection.add(
                ids=[f"{path.name}#{i}" for i in range(len(texts))],
                embeddings=vectors.tolist(),
                documents=texts,
                metadatas=[{"source": path.name} for _ in texts],
            )
            total += len(texts)
        seconds = time.perf_counter() - started
    print(f"chromadb {chromadb.__version__}, sentence-transformers, torch {torch.__version__}")
    print(f"chunks={total}")
    print(f"seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
