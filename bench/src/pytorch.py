"""PyTorch on one reference workload, as a child process of bench/src/run.mjs (one process per
measurement, like weft.mjs and tfjs.mjs, so each has its own threads, heap and peak RSS).

No workload is defined here: the shape (cell, layers, sizes, batch, sequence length) arrives as
JSON from the runner, which takes it from @weft/core's workloads table (`workloadShape`), the one
table that weft's own benchmark reads. This script only times steps; run.mjs turns the median into
tokens/s and GFLOP/s with the one FLOP count.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/src/pytorch.py \
      --shape '{"name":"rnn-small","cell":"rnn",...}' --threads 1 --warmup 2 --steps 5

The model is what weft trains: nn.LSTM / nn.GRU / nn.RNN (tanh), batch_first, both biases, over
one-hot (or dense) inputs, an nn.Linear head at every step, softmax cross-entropy or MSE, Adam with
lr 1e-3, one step on one fixed random batch. `--threads` is torch.set_num_threads; OpenBLAS takes
its threads from OPENBLAS_NUM_THREADS, which the caller sets (OpenBLAS reads it when it loads).
Prints one JSON line: step times, the threads in effect and what OpenBLAS says it runs.
Tested for Debian's python3-torch 1.13 (OpenBLAS from libopenblas0-pthread).
"""
import argparse
import ctypes
import json
import os
import resource
import statistics
import sys
import time

FIELDS = {
    "name": str, "cell": str, "layers": int, "hidden": int, "bidirectional": bool, "input": int,
    "encoding": str, "output": int, "loss": str, "T": int, "B": int,
}
CHOICES = {"cell": ("rnn", "gru", "lstm"), "encoding": ("onehot", "dense"), "loss": ("ce", "mse")}


def fail(msg):
    sys.stderr.write(f"pytorch.py: {msg}\n")
    sys.exit(2)


def parse_shape(text):
    try:
        shape = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"--shape is not JSON: {e}")
    if not isinstance(shape, dict):
        fail("--shape must be a JSON object")
    for key, kind in FIELDS.items():
        if key not in shape:
            fail(f"--shape lacks '{key}' (expected {kind.__name__})")
        v = shape[key]
        # bool is an int in Python: keep true/false out of the integer fields.
        if not isinstance(v, kind) or (kind is int and (isinstance(v, bool) or v < 1)):
            fail(f"--shape field '{key}' must be {'a positive integer' if kind is int else kind.__name__}; got {v!r}")
        if key in CHOICES and v not in CHOICES[key]:
            fail(f"--shape field '{key}' must be one of {', '.join(CHOICES[key])}; got {v!r}")
    return shape


def openblas_state():
    """What the OpenBLAS that torch loaded reports: its build config, the core (kernel set) it chose
    and its thread count. Found in this process's memory map, so it is the instance torch calls."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line and ".so" in line}
    except OSError:
        paths = set()
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {
                "library": path,
                "config": lib.openblas_get_config().decode(),
                "core": lib.openblas_get_corename().decode(),
                "threads": lib.openblas_get_num_threads(),
            }
        except (OSError, AttributeError):
            continue
    return None


def main():
    ap = argparse.ArgumentParser(description="Times PyTorch training steps on one workload shape.")
    ap.add_argument("--shape", required=True, help="the workload as JSON (workloadShape of @weft/core)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    w = parse_shape(a.shape)
    if a.threads < 1:
        fail(f"--threads must be a positive integer; got {a.threads}")
    if a.warmup < 0:
        fail(f"--warmup must be a non-negative integer; got {a.warmup}")
    if a.steps < 1:
        fail(f"--steps must be a positive integer; got {a.steps}")

    import torch
    import torch.nn as nn

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dirs = 2 if w["bidirectional"] else 1
    rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[w["cell"]]

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn(w["input"], w["hidden"], num_layers=w["layers"], bidirectional=w["bidirectional"], batch_first=True)
            self.head = nn.Linear(w["hidden"] * dirs, w["output"])

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.head(y)

    m = Model()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    B, T = w["B"], w["T"]
    if w["encoding"] == "onehot":
        x = nn.functional.one_hot(torch.randint(0, w["input"], (B, T)), w["input"]).float()
    else:
        x = torch.randn(B, T, w["input"])
    if w["loss"] == "ce":
        y = torch.randint(0, w["output"], (B, T))
        lossf = lambda o: nn.functional.cross_entropy(o.reshape(-1, w["output"]), y.reshape(-1))
    else:
        y = torch.randn(B, T, w["output"])
        lossf = lambda o: nn.functional.mse_loss(o, y)

    times = []
    loss = float("nan")
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = lossf(m(x))
        out.backward()
        opt.step()
        ms = (time.perf_counter() - t0) * 1e3
        loss = out.item()
        if i >= a.warmup:
            times.append(ms)

    print(json.dumps({
        "engine": "pytorch",
        "backend": f"torch {torch.__version__}",
        "workload": w["name"],
        "torch": torch.__version__,
        "python": sys.executable,
        "torchThreads": torch.get_num_threads(),
        "openblasThreadsEnv": os.environ.get("OPENBLAS_NUM_THREADS"),
        "openblas": openblas_state(),
        "params": sum(p.numel() for p in m.parameters()),
        "stepMs": times,
        "stepMsMedian": statistics.median(times),
        "loss": loss,
        # ru_maxrss is in KiB on Linux: the whole process's peak, this child runs nothing else.
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }), flush=True)


if __name__ == "__main__":
    main()
