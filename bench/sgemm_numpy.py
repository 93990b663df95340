#!/usr/bin/env python3
"""Single-thread float32 GEMM throughput of numpy's BLAS, the peer for
kernels.BenchmarkSgemm (same shapes: m in {1, 32, 64, 128, 256}, k = n = 256,
c = a @ b + bias).

Run it in the same session as the Go benchmark and divide:

    go test -run '^$' -bench 'Sgemm$' ./kernels/
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/sgemm_numpy.py

The BLAS is pinned to one thread with threadpoolctl when it is installed;
otherwise OPENBLAS_NUM_THREADS (and friends) are set to 1 before numpy is
imported. The kernel OpenBLAS picked (threadpoolctl's "architecture") is
printed, since it decides the numbers.

Each shape is timed for --rounds rounds of at least --min-time seconds; the
best round is reported (the least disturbed by other tenants on a shared
machine), as GFLOPS = 2*m*n*k / seconds / 1e9, plus the median.
"""

import argparse
import os
import statistics
import sys
import time

try:
    import threadpoolctl
except ImportError:  # pin through the environment instead, before numpy loads
    threadpoolctl = None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"

import numpy as np


def time_shape(m, k, n, rounds, min_time, bias_add):
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    bias = rng.uniform(-1, 1, n).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=c)  # warm up: page in, let OpenBLAS allocate its buffers
    flops = 2.0 * m * n * k
    iters = 1
    while True:  # calibrate so one round lasts at least min_time
        t0 = time.perf_counter()
        for _ in range(iters):
            np.matmul(a, b, out=c)
            if bias_add:
                c += bias
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        iters *= 2
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(iters):
            np.matmul(a, b, out=c)
            if bias_add:
                c += bias
        dt = time.perf_counter() - t0
        rates.append(flops * iters / dt / 1e9)
    return max(rates), statistics.median(rates), dt / iters * 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per round")
    p.add_argument("--no-bias", action="store_true", help="time a @ b alone")
    args = p.parse_args()

    limiter = threadpoolctl.threadpool_limits(limits=1) if threadpoolctl else None
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")
    if threadpoolctl:
        for info in threadpoolctl.threadpool_info():
            print("blas: {internal_api} {version} kernel={architecture} threads={num_threads} {filepath}".format(
                **{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}))
    else:
        print("blas: threadpoolctl not installed; pinned with OPENBLAS_NUM_THREADS=1")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{var}={os.environ.get(var, '(unset)')}")
    print(f"{'shape':<22} {'best GFLOPS':>12} {'median':>8} {'ns/op':>10}")
    for m in (1, 32, 64, 128, 256):
        k = n = 256
        best, med, ns = time_shape(m, k, n, args.rounds, args.min_time, not args.no_bias)
        print(f"m={m}/k={k}/n={n:<9} {best:12.2f} {med:8.2f} {ns:10.0f}")
    if limiter is not None:
        limiter.restore_original_limits()


if __name__ == "__main__":
    main()
