"""A small, dependency-free CPU training run: logistic regression by gradient descent on synthetic data.

Meter it with:  npx carbon-meter run -- python3 examples/train_cpu.py --epochs 20
"""
import argparse
import math
import random


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


def train(xs, ys, epochs, lr):
    dim = len(xs[0])
    w = [0.0] * dim
    for epoch in range(epochs):
        grad = [0.0] * dim
        loss = 0.0
        for x, y in zip(xs, ys):
            z = sum(a * b for a, b in zip(w, x))
            p = 1 / (1 + math.exp(-z))
            loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
            for j in range(dim):
                grad[j] += (p - y) * x[j]
        w = [wj - lr * gj / len(xs) for wj, gj in zip(w, grad)]
        print(f"epoch {epoch + 1}/{epochs}  loss {loss / len(xs):.4f}", flush=True)
    return w


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--dim", type=int, default=32)
    args = parser.parse_args()
    xs, ys = make_data(args.samples, args.dim)
    train(xs, ys, args.epochs, lr=0.5)
