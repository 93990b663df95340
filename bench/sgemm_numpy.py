#!/usr/bin/env python3
"""Single-thread float32 GEMM throughput of numpy's BLAS, the peer for
kernels.BenchmarkSgemm: the same shapes (m in {1, 32, 64, 128, 256},
k = n = 256) and the same operation, c = a @ b + bias.

Usage, from the repository root, with Debian's numpy (OpenBLAS):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/sgemm_numpy.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/sgemm_numpy.py --with-go

The first prints numpy's numbers. The second also builds the kernels test
binary (GOEXPERIMENT=simd by default) and alternates short bursts of
BenchmarkSgemm and of numpy, round after round, then prints both side by
side with their ratio. Alternating matters on a shared machine: throughput
there drifts by 2x over seconds, and two runs minutes apart compare the
neighbours, not the code.

The BLAS is pinned to one thread with threadpoolctl when it is installed;
otherwise OPENBLAS_NUM_THREADS (and friends) are set to 1 before numpy is
imported. The kernel OpenBLAS picked (threadpoolctl's "architecture") is
printed, since it decides the numbers. GFLOPS = 2*m*n*k / seconds / 1e9;
"best" is the fastest round (the least disturbed), "median" the typical one.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import threadpoolctl
except ImportError:  # pin through the environment instead, before numpy loads
    threadpoolctl = None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"

import numpy as np

SHAPES = [(m, 256, 256) for m in (1, 32, 64, 128, 256)]


def name(m, k, n):
    return f"m={m}/k={k}/n={n}"


class Shape:
    """Operands of one shape and a calibrated iteration count."""

    def __init__(self, m, k, n, bias_add, min_time):
        rng = np.random.default_rng(1)
        self.a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        self.b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
        self.bias = rng.uniform(-1, 1, n).astype(np.float32)
        self.c = np.empty((m, n), dtype=np.float32)
        self.bias_add = bias_add
        self.flops = 2.0 * m * n * k
        self.iters = 1
        self.run(1)  # warm up: page in, let OpenBLAS allocate its buffers
        while self.run(self.iters) < min_time:
            self.iters *= 2

    def run(self, iters):
        a, b, c, bias = self.a, self.b, self.c, self.bias
        t0 = time.perf_counter()
        for _ in range(iters):
            np.matmul(a, b, out=c)
            if self.bias_add:
                c += bias
        return time.perf_counter() - t0

    def gflops(self):
        return self.flops * self.iters / self.run(self.iters) / 1e9


def blas_info():
    if not threadpoolctl:
        return ["blas: threadpoolctl not installed; pinned with OPENBLAS_NUM_THREADS=1"]
    return ["blas: {internal_api} {version} kernel={architecture} threads={num_threads} {filepath}".format(
        **{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")})
        for info in threadpoolctl.threadpool_info()]


def build_go(goexperiment):
    out = os.path.join(tempfile.mkdtemp(prefix="sgemm_bench_"), "kernels.test")
    env = dict(os.environ, GOEXPERIMENT=goexperiment)
    subprocess.run(["go", "test", "-c", "-o", out, "./kernels/"], check=True, env=env)
    return out


GO_LINE = re.compile(r"^BenchmarkSgemm/(m=\d+/k=\d+/n=\d+)-\d+\s.*?([\d.]+) GFLOPS")


def go_burst(binary, benchtime):
    res = subprocess.run([binary, "-test.run", "^$", "-test.bench", "^BenchmarkSgemm$",
                          "-test.count", "1", "-test.benchtime", benchtime],
                         check=True, capture_output=True, text=True, cwd="kernels")
    got = {}
    for line in res.stdout.splitlines():
        mt = GO_LINE.match(line)
        if mt:
            got[mt.group(1)] = float(mt.group(2))
    return got


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per round and shape")
    p.add_argument("--no-bias", action="store_true", help="time a @ b alone")
    p.add_argument("--with-go", action="store_true", help="alternate with BenchmarkSgemm and print ratios")
    p.add_argument("--goexperiment", default="simd", help="GOEXPERIMENT for the Go build")
    args = p.parse_args()

    limiter = threadpoolctl.threadpool_limits(limits=1) if threadpoolctl else None
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")
    for line in blas_info():
        print(line)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{var}={os.environ.get(var, '(unset)')}")
    shapes = {name(*s): Shape(*s, not args.no_bias, args.min_time) for s in SHAPES}
    npr = {n: [] for n in shapes}
    gor = {n: [] for n in shapes}
    binary = build_go(args.goexperiment) if args.with_go else None
    for _ in range(args.rounds):
        if binary:
            for n, g in go_burst(binary, f"{args.min_time}s").items():
                gor.setdefault(n, []).append(g)
        for n, s in shapes.items():
            npr[n].append(s.gflops())
    if limiter is not None:
        limiter.restore_original_limits()

    med = statistics.median
    if not binary:
        print(f"{'shape':<20} {'best GFLOPS':>12} {'median':>8}")
        for n, r in npr.items():
            print(f"{n:<20} {max(r):12.2f} {med(r):8.2f}")
        return
    print(f"GOEXPERIMENT={args.goexperiment}, {args.rounds} alternating rounds of {args.min_time}s per shape")
    print(f"{'shape':<20} {'Go best':>8} {'Go med':>7} {'numpy best':>11} {'numpy med':>10} {'best/best':>10} {'med/med':>8}")
    for n, r in npr.items():
        g = gor.get(n)
        if not g:
            print(f"{n:<20} {'-':>8} {'-':>7} {max(r):11.2f} {med(r):10.2f}")
            continue
        print(f"{n:<20} {max(g):8.2f} {med(g):7.2f} {max(r):11.2f} {med(r):10.2f} "
              f"{max(g) / max(r):10.2f} {med(g) / med(r):8.2f}")


if __name__ == "__main__":
    main()
