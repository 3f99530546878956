"""A small, dependency-free CPU training run: logistic regression by gradient descent on synthetic data.

Meter it with:  npx carbon-meter run -- python3 examples/train_cpu.py --epochs 20
"""
import argparse
import math
import os
import random
import sys
import tempfile


def make_data(n, dim, seed=0):
    rng = random.Random(seed)
    w_true = [rng.uniform(-1, 1) for _ in range(dim)]
    xs, ys = [], []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(dim)]
        z = sum(a * b for a, b in zip(w_true, x))
        xs.append(x)
        ys.append(1.0 if rng.random() < 1 / (1 + math.exp(-z)) else 0.0)
    return xs, ys


def epoch_step(xs, ys, w, lr):
    """One epoch of gradient descent: the new weights and the mean loss."""
    grad = [0.0] * len(w)
    loss = 0.0
    for x, y in zip(xs, ys):
        z = sum(a * b for a, b in zip(w, x))
        p = 1 / (1 + math.exp(-z))
        loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
        for j in range(len(w)):
            grad[j] += (p - y) * x[j]
    return [wj - lr * gj / len(xs) for wj, gj in zip(w, grad)], loss / len(xs)


def save_checkpoint(w, done):
    """What a real script does when asked to stop (SIGINT: Ctrl-C, or `run --on-budget stop`): keep its work."""
    path = os.path.join(tempfile.gettempdir(), "train_cpu.ckpt")
    with open(path, "w") as f:
        f.write(f"{done} " + " ".join(f"{wj:.6g}" for wj in w) + "\n")
    print(f"interrupted after {done} epoch(s): weights saved to {path}", flush=True)


def train(xs, ys, epochs, lr):
    w = [0.0] * len(xs[0])
    done = 0
    try:
        for epoch in range(epochs):
            w, loss = epoch_step(xs, ys, w, lr)
            done = epoch + 1
            print(f"epoch {done}/{epochs}  loss {loss:.4f}", flush=True)
    except KeyboardInterrupt:
        save_checkpoint(w, done)
        sys.exit(130)
    return w


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--dim", type=int, default=32)
    args = parser.parse_args()
    xs, ys = make_data(args.samples, args.dim)
    train(xs, ys, args.epochs, lr=0.5)
