"""How many torch threads should a notebook use on a small CPU? Quiet machine vs one busy neighbour.

Trains the course's two typical models for a fixed number of steps -- the MLP encoder of notebooks
03-07 with a Gaussian NINE head, and the conv encoder of notebook 01 -- on the digits, with 1 and 2
torch threads, once on a quiet machine and once beside one other CPU-bound process (a Python busy
loop, like a browser tab or a second notebook on a learner's laptop). Prints a Markdown table of the
wall times and of the ratio busy / quiet.

    .venv/bin/python benchmarks/threads.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/threads.py --steps 400

Run it on an otherwise idle machine: the "quiet" column assumes nothing else is running.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch
from torch import nn

import nine_utils as nu


def _models(kind: str, d: int = 8) -> tuple[nn.Module, nn.Module]:
    if kind == "mlp":
        encoder = nn.Sequential(nu.MLPEncoder(64, d, hidden=128), nu.GaussianNINEHead(d, sigma=1.0))
        return encoder, encoder[-1].critic()
    return nu.ConvEncoder(d), nu.SeparableCritic(d, normalize=True, temperature=0.2)


def time_steps(kind: str, threads: int, steps: int) -> float:
    """Seconds for ``steps`` InfoNCE steps of model ``kind`` on ``threads`` torch threads."""
    torch.set_num_threads(threads)
    data = nu.digits_split(seed=0)
    x = data.x_train if kind == "conv" else data.x_train.flatten(1)
    nu.seed_everything(0)
    encoder, critic = _models(kind)
    batch = 256
    epochs = max(1, steps // (x.shape[0] // batch))
    start = time.perf_counter()
    nu.train_infomax(encoder, critic, x, epochs=epochs, batch_size=batch, progress=False, device="cpu")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="training steps per measurement")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    rows = []
    for kind in ("mlp", "conv"):
        for threads in args.threads:
            time_steps(kind, threads, 20)  # warm-up: one-time start-up costs
            quiet = time_steps(kind, threads, args.steps)
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                time.sleep(0.5)
                loaded = time_steps(kind, threads, args.steps)
            finally:
                busy.kill()
                busy.wait()
            rows.append((kind, threads, quiet, loaded))
    print(f"| model | torch threads | quiet (s) | beside one busy process (s) | ratio |")
    print("|---|---|---|---|---|")
    for kind, threads, quiet, loaded in rows:
        print(f"| {kind} | {threads} | {quiet:.2f} | {loaded:.2f} | {loaded / quiet:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
