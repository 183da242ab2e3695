"""A small but real training script: logistic regression by gradient descent.

It runs unchanged with plain ``python train.py`` (defaults, nothing written)
or as a tracked experiment with ``yanex run train.py --param optimizer.lr=0.1``.
Only the standard library is needed.
"""

import math
import random

import yanex

params = yanex.get_params()
seed = yanex.get_param("seed", default=0)
epochs = yanex.get_param("epochs", default=30)
lr = yanex.get_param("optimizer.lr", default=0.1)
samples = yanex.get_param("data.samples", default=400)

rng = random.Random(seed)
true_weights = [1.5, -2.0, 0.5]


def make_point() -> tuple[list[float], int]:
    features = [rng.gauss(0, 1) for _ in true_weights]
    score = sum(w * x for w, x in zip(true_weights, features, strict=True))
    label = 1 if score + rng.gauss(0, 0.5) > 0 else 0
    return features, label


data = [make_point() for _ in range(samples)]
weights = [0.0 for _ in true_weights]


def predict(features: list[float]) -> float:
    score = sum(w * x for w, x in zip(weights, features, strict=True))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, score))))


print(f"training on {samples} points for {epochs} epochs, lr={lr}")
for epoch in range(epochs):
    gradient = [0.0 for _ in weights]
    loss = 0.0
    correct = 0
    for features, label in data:
        p = predict(features)
        loss -= math.log(p if label else 1 - p + 1e-12)
        correct += (p > 0.5) == bool(label)
        for i, x in enumerate(features):
            gradient[i] += (p - label) * x / samples
    weights = [w - lr * g for w, g in zip(weights, gradient, strict=True)]
    mean_loss, accuracy = loss / samples, correct / samples
    yanex.log_metrics({"loss": mean_loss, "accuracy": accuracy}, step=epoch)
    if epoch % 10 == 0 or epoch == epochs - 1:
        print(f"epoch {epoch:3d}  loss {mean_loss:.4f}  accuracy {accuracy:.3f}")

yanex.save_artifact({"weights": weights, "true_weights": true_weights}, "model.json")
