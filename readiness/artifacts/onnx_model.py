"""ONNX models through onnxruntime, behind the scikit-learn face the checks use.

No Python code runs when an ONNX model loads. External-data references must stay
inside the artifact's folder (past onnx bugs allowed path traversal there):
:func:`readiness.artifacts.trust.check_onnx_external_data` checks that before any load.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from readiness.exceptions import InputError

_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
          "tensor(int32)": np.int32, "tensor(string)": object, "tensor(bool)": bool}


class OnnxModel:
    """predict / predict_proba / classes_ / feature_names_in_ over an InferenceSession.

    Examples
    --------
    >>> import tempfile
    >>> from skl2onnx import to_onnx
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    >>> path = Path(tempfile.mkdtemp()) / "model.onnx"
    >>> _ = path.write_bytes(to_onnx(LogisticRegression().fit(X, [0, 0, 1, 1]), X).SerializeToString())
    >>> model = OnnxModel(path)
    >>> model.classes_.tolist(), model.n_features_in_, model.predict(X).tolist()
    ([0, 1], 1, [0, 0, 1, 1])
    >>> model.predict_proba(X[:2]).round(3)
    array([[0.808, 0.192],
           [0.618, 0.382]])
    """

    def __init__(self, path: str | Path):
        import onnx
        import onnxruntime

        self.path = str(path)
        self.session = onnxruntime.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        self.inputs = self.session.get_inputs()
        self.outputs = [o.name for o in self.session.get_outputs()]
        graph = onnx.load(self.path, load_external_data=False).graph
        self.classes_ = self._class_labels(graph)
        if len(self.inputs) > 1:
            self.feature_names_in_ = np.array([i.name for i in self.inputs], dtype=object)
            self.n_features_in_ = len(self.inputs)
        else:
            width = self.inputs[0].shape[-1] if self.inputs[0].shape else None
            self.n_features_in_ = width if isinstance(width, int) else None
        if self.classes_ is None:
            del self.classes_  # regressors have no classes_ (task detection relies on it)
        self._probability = next((o for o in self.outputs if "prob" in o.lower()), None)

    @staticmethod
    def _class_labels(graph):
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.name in ("classlabels_int64s", "classlabels_ints"):
                    return np.array(list(attribute.ints))
                if attribute.name == "classlabels_strings":
                    return np.array([s.decode() for s in attribute.strings], dtype=object)
        return None

    def _feed(self, X) -> dict:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        if len(self.inputs) == 1:
            dtype = _TYPES.get(self.inputs[0].type, np.float32)
            return {self.inputs[0].name: frame.to_numpy(dtype=dtype)}
        feed = {}
        for spec in self.inputs:
            values = frame[spec.name].to_numpy()
            dtype = _TYPES.get(spec.type, np.float32)
            feed[spec.name] = (values.astype(str) if dtype is object else values.astype(dtype)).reshape(-1, 1)
        return feed

    def _run(self, X):
        return dict(zip(self.outputs, self.session.run(None, self._feed(X))))

    def predict(self, X):
        results = self._run(X)
        first = results[self.outputs[0]]
        return np.asarray(first).ravel()

    def predict_proba(self, X):
        if self._probability is None:
            raise AttributeError("this ONNX model has no probability output")
        values = self._run(X)[self._probability]
        if isinstance(values, list):  # skl2onnx's ZipMap: one {class: probability} per row
            return np.array([[row[c] for c in self.classes_] for row in values], dtype=float)
        return np.asarray(values, dtype=float)
