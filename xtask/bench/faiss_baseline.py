"""faiss baseline for `cargo xtask bench knowledge`.

Reads the corpus the Rust bench wrote (host/knowledge/benches/knowledge.rs: `vectors.f32`,
`queries.f32` as little-endian f32 rows, `truth.u32` as the exact top-k ids per query), builds
a faiss HNSW index with the same graph settings as Mantle's (M=16, efConstruction=128, inner
product), and for each efSearch prints `ef<EF>_recall=`, `ef<EF>_p50_us=`, `ef<EF>_p99_us=`
(one query at a time, one thread, as a Retrieve call searches), then `build_s=`. Runs in the
bench venv outside the repository (`pip install faiss-cpu numpy`); nothing in CI uses it.

Usage: python faiss_baseline.py <dir> <dimensions> <k>
"""

import sys
import time

import faiss
import numpy as np

EFS = (16, 32, 48, 64, 96, 128, 192, 256)


def main() -> None:
    folder, dims, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    vectors = np.fromfile(f"{folder}/vectors.f32", dtype="<f4").reshape(-1, dims)
    queries = np.fromfile(f"{folder}/queries.f32", dtype="<f4").reshape(-1, dims)
    truth = np.fromfile(f"{folder}/truth.u32", dtype="<u4").reshape(len(queries), k)
    faiss.omp_set_num_threads(2)
    index = faiss.IndexHNSWFlat(dims, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    started = time.perf_counter()
    index.add(vectors)
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    print(f"faiss {faiss.__version__}, {len(vectors)} vectors, build {build:.1f} s")
    for ef in EFS:
        index.hnsw.efSearch = ef
        for query in queries[:20]:
            index.search(query[None, :], k)
        found, times = [], []
        for query in queries:
            started = time.perf_counter()
            _, ids = index.search(query[None, :], k)
            times.append(time.perf_counter() - started)
            found.append(ids[0])
        recall = np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth)])
        times_us = np.array(times) * 1e6
        print(f"ef{ef}_recall={recall:.4f}")
        print(f"ef{ef}_p50_us={np.percentile(times_us, 50):.1f}")
        print(f"ef{ef}_p99_us={np.percentile(times_us, 99):.1f}")
    print(f"build_s={build:.2f}")


if __name__ == "__main__":
    main()
