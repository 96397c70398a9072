"""Prints the scikit-learn values the metric tests compare with (pip install scikit-learn numpy).

    python Tests/H5ToLiteEvaluationTests/make_fixtures.py > Tests/H5ToLiteEvaluationTests/sklearn_fixtures.json
"""
import json

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

rng = np.random.RandomState(11)
cases = []
for size, tie_levels in [(20, None), (50, 4), (200, 7), (7, 2)]:
    labels = rng.randint(0, 2, size)
    labels[0], labels[1] = 0, 1
    scores = rng.rand(size).astype(np.float32)
    if tie_levels:
        scores = (np.floor(scores * tie_levels) / tie_levels).astype(np.float32)
    cases.append({"scores": scores.tolist(), "labels": labels.tolist(), "auroc": roc_auc_score(labels, scores)})
outputs = rng.rand(30, 4).astype(np.float32)
onehot = np.eye(4)[rng.randint(0, 4, 30)]
accuracy = {"outputs": outputs.ravel().tolist(), "labels": onehot.ravel().tolist(),
            "accuracy": accuracy_score(onehot.argmax(1), outputs.argmax(1))}
print(json.dumps({"auroc": cases, "accuracy": accuracy}))
