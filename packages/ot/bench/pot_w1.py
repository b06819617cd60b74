"""POT baseline for the W1 benchmark of @crossrank/ot (run by bench/w1.ts).

Per pair: numpy cosine cost M = 1 - Xn @ Yn.T (rows L2-normalised in the loop), then POT's kernel
Sinkhorn ``ot.sinkhorn(a, b, M, reg, numItermax=iterations, stopThr=0)`` (uniform marginals, exactly
`iterations` iterations) and <P, M>: the per-pair protocol of LM-EMD's reference code.

Usage: python3 pot_w1.py PAIRS QUERY_TOKENS DOC_TOKENS DIM REG ITERATIONS [SEED]
Prints one JSON object. Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (bench/w1.ts
does): the values set on these machines slow numpy's BLAS down.
"""
import json
import sys
import time

import warnings

import numpy as np
import ot


def main() -> None:
    warnings.simplefilter("ignore")
    pairs, n, m, d = (int(x) for x in sys.argv[1:5])
    reg = float(sys.argv[5])
    iterations = int(sys.argv[6])
    seed = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((n, d)).astype(np.float32)
    docs = rng.standard_normal((pairs, m, d)).astype(np.float32)
    a = np.full(n, 1.0 / n)
    b = np.full(m, 1.0 / m)

    def solve(x: np.ndarray, y: np.ndarray) -> float:
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        yn = y / np.linalg.norm(y, axis=1, keepdims=True)
        cost = (1.0 - xn @ yn.T).astype(np.float64)
        plan = ot.sinkhorn(a, b, cost, reg, numItermax=iterations, stopThr=0)
        return float(np.sum(plan * cost))

    warm = min(pairs, 16)
    for i in range(warm):
        solve(query, docs[i])
    start = time.perf_counter()
    total = 0.0
    for i in range(pairs):
        total += solve(query, docs[i])
    seconds = time.perf_counter() - start
    print(json.dumps({
        "pairs": pairs,
        "seconds": seconds,
        "pairsPerSecond": pairs / seconds,
        "meanCost": total / pairs,
        "pot": ot.__version__,
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
