"""A fitted model's rows as numbers: ``(n, K)`` outputs, and the classes they imply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from readiness.exceptions import InputError

@dataclass(frozen=True)
class Outputs:
    """How a model's rows become numbers: ``predict(frame) -> (n, K)`` floats.

    ``kind`` is ``"proba"`` (K = 1: P(positive) for binary; K classes for
    multiclass), ``"decision"`` (binary decision function), ``"label"`` (binary
    predicted-positive indicator) or ``"regression"``. ``threshold`` turns a
    binary output into a class.
    """

    predict: Callable[[pd.DataFrame], np.ndarray]
    labels: list[str]
    kind: str
    task: str
    threshold: float = 0.5

    def classes_of(self, values: np.ndarray) -> np.ndarray:
        """Predicted class index per row of ``values`` (classification only)."""
        if self.task == "multiclass":
            return np.asarray(values).argmax(axis=1)
        score = np.asarray(values)[:, 0]
        return (score > 0).astype(np.int64) if self.kind == "decision" else (score >= self.threshold).astype(np.int64)


def model_outputs(model: Any, task: str, columns: Sequence[Any] | None = None, name: str = "model",
                  decision_threshold: float = 0.5) -> Outputs:
    """Wrap a fitted model (scikit-learn API or :class:`readiness.artifacts.loading.ModelAdapter`).

    ``columns`` are the columns the model reads (default: ``feature_names_in_`` if
    present, else every column it is given).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    >>> outputs = model_outputs(LinearRegression().fit(X, [1.0, 3.0, 5.0]), "regression")
    >>> outputs.predict(X).round(6).ravel().tolist()
    [1.0, 3.0, 5.0]
    """
    estimator = getattr(model, "estimator", model)
    if columns is None:
        names = getattr(estimator, "feature_names_in_", None)
        columns = None if names is None else list(names)
    chosen = None if columns is None else list(columns)

    def frame_of(frame: pd.DataFrame) -> pd.DataFrame:
        return frame if chosen is None else frame[chosen]

    def guarded(fn):
        def run(frame: pd.DataFrame) -> np.ndarray:
            try:
                return np.asarray(fn(frame_of(frame)), dtype=np.float64)
            except Exception as exc:  # any failure of a user's model on mixed rows is bad input, said in one line
                text = str(exc).strip().splitlines()
                raise InputError(f"the {name} model failed to predict on mixed rows ({type(exc).__name__}: "
                                 f"{text[0][:200] if text else ''}); check that both data sets have the same columns "
                                 "and types") from None
        return run

    if task == "regression":
        return Outputs(guarded(lambda X: np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), 1)),
                       ["prediction"], "regression", task)
    found = getattr(model, "classes", None) if not isinstance(getattr(model, "classes", None), Callable) else None
    classes = [str(c) for c in (found if found is not None else getattr(estimator, "classes_", []))]
    # readiness' ModelAdapter defines every method and says which ones work
    has_proba = getattr(model, "has_proba", hasattr(model, "predict_proba"))
    has_decision = getattr(model, "has_decision_function", hasattr(model, "decision_function"))
    if has_proba:
        if task == "binary":
            return Outputs(guarded(lambda X: np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1:2]),
                           [f"P({classes[1] if len(classes) > 1 else 'positive'})"], "proba", task, decision_threshold)
        return Outputs(guarded(lambda X: np.asarray(model.predict_proba(X), dtype=np.float64)),
                       [f"P({c})" for c in classes], "proba", task)
    if task == "binary" and has_decision:
        return Outputs(guarded(lambda X: np.asarray(model.decision_function(X), dtype=np.float64).reshape(len(X), 1)),
                       ["decision function"], "decision", task, 0.0)
    positive = classes[1] if len(classes) > 1 else None
    if task == "binary":
        return Outputs(guarded(lambda X: (np.asarray(model.predict(X)).astype(str) == positive).astype(np.float64)
                               .reshape(len(X), 1)), [f"share predicted {positive}"], "label", task)
    return Outputs(guarded(lambda X: (np.asarray(model.predict(X)).astype(str)[:, None]
                                      == np.asarray(classes)[None, :]).astype(np.float64)),
                   [f"share predicted {c}" for c in classes], "label", task)
