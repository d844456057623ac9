"""A seeded prediction log: what a served binary classifier wrote, day by day.

Used by the tests, the demo and the benchmark. Scores are calibrated by construction
(the label of a row with score p is drawn as Bernoulli(p)), so realized and estimated
performance agree unless a release breaks that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def simulate_log(days: int = 60, rows_per_day: int = 2000, start: str = "2017-01-01",
                 releases: dict[int, tuple[str, float]] | None = None, features: int = 4, label_share: float = 1.0,
                 labels_until_day: int | None = None, seed: int = 0, first_version: str = "v1") -> pd.DataFrame:
    """A prediction log as a DataFrame.

    Parameters
    ----------
    days, rows_per_day : int
        Length and density of the log (timestamps spread uniformly within each day, sorted).
    start : str
        First day (UTC).
    releases : dict of day to (version, score factor), optional
        From that day on, the named version serves and its scores are the calibrated
        score times the factor (1.0: a healthy release; 100.0: a unit bug). Scores
        multiplied beyond 1 are left as they are (a regression-like output).
    features : int
        Feature columns f0..f{n-1} (normal); the calibrated score is a logistic function of them.
    label_share : float
        Share of rows whose label is known.
    labels_until_day : int, optional
        No labels from this day on (labels arrive late).
    seed : int
        Generator seed.

    Returns
    -------
    DataFrame
        Columns ``timestamp, model_version, score, label, f0..``; ``label`` is NaN where unknown.

    Examples
    --------
    >>> log = simulate_log(days=3, rows_per_day=10, releases={2: ("v2", 100.0)})
    >>> log.groupby("model_version")["score"].mean().round(1).to_dict()  # doctest: +SKIP
    {'v1': 0.3, 'v2': 29.1}
    """
    rng = np.random.default_rng(seed)
    n = days * rows_per_day
    day = np.repeat(np.arange(days), rows_per_day)
    seconds = np.sort(rng.integers(0, 86_400, size=(days, rows_per_day)), axis=1).ravel()
    timestamp = pd.Timestamp(start) + pd.to_timedelta(day * 86_400 + seconds, unit="s")
    x = rng.normal(size=(n, features))
    weights = np.linspace(1.0, 0.2, features)
    calibrated = 1 / (1 + np.exp(-(x @ weights - 1.0)))
    label = (rng.random(n) < calibrated).astype(float)
    label[rng.random(n) >= label_share] = np.nan
    if labels_until_day is not None:
        label[day >= labels_until_day] = np.nan
    version = np.full(n, first_version, dtype=object)
    score = calibrated.copy()
    for first_day, (name, factor) in sorted((releases or {}).items()):
        later = day >= first_day
        version[later] = name
        score[later] = calibrated[later] * factor
    frame = pd.DataFrame({"timestamp": timestamp, "model_version": version, "score": score, "label": label})
    for j in range(features):
        frame[f"f{j}"] = x[:, j]
    return frame


def write_log_parquet(frame: pd.DataFrame, folder: str | Path, rows_per_file: int | None = None,
                      row_group_rows: int = 100_000) -> list[Path]:
    """Write a log as a serving system would: numbered Parquet files of row groups.

    Examples
    --------
    >>> import tempfile
    >>> import pyarrow.parquet as pq
    >>> folder = Path(tempfile.mkdtemp()) / "log"
    >>> paths = write_log_parquet(simulate_log(days=3, rows_per_day=100), folder, rows_per_file=200, row_group_rows=50)
    >>> [path.name for path in paths], [pq.ParquetFile(path).metadata.num_row_groups for path in paths]
    (['part-00000.parquet', 'part-00001.parquet'], [4, 2])
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows_per_file = rows_per_file or len(frame)
    paths = []
    for number, start in enumerate(range(0, len(frame), rows_per_file)):
        path = folder / f"part-{number:05d}.parquet"
        table = pa.Table.from_pandas(frame.iloc[start:start + rows_per_file], preserve_index=False)
        pq.write_table(table, path, row_group_size=row_group_rows)
        paths.append(path)
    return paths


def simulated_parameters(folder: str | Path | None = None) -> dict:
    """Notebook parameters for a simulated log (60 days; release v2 on day 40 multiplies scores by 100;
    labels for the first 50 days), written once as Parquet files under ``folder`` (default: a temp folder).

    Examples
    --------
    >>> import tempfile
    >>> params = simulated_parameters(Path(tempfile.mkdtemp()) / "simulated")  # 120,000 rows, written once
    >>> params["log_path"], params["settings"]
    ('/.../simulated', {'prediction': 'score', 'label': 'label'})
    >>> sorted(path.name for path in Path(params["log_path"]).iterdir())[:2]
    ['part-00000.parquet', 'part-00001.parquet']
    >>> empty = tempfile.mkdtemp()  # an empty folder is filled, not taken for a log
    >>> len(list(Path(simulated_parameters(empty)["log_path"]).glob("*.parquet")))
    6
    """
    import tempfile

    import os
    import shutil

    folder = Path(folder) if folder else Path(tempfile.gettempdir()) / "readiness-simulated-log-1"
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()  # an empty folder (e.g. from tempfile.mkdtemp) is no log: written below
    if not folder.is_dir():
        # written beside and renamed into place: two notebooks starting at once never read half a log
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        log = simulate_log(days=60, rows_per_day=2000, releases={40: ("v2", 100.0)}, labels_until_day=50)
        write_log_parquet(log, partial, rows_per_file=20_000, row_group_rows=10_000)
        try:
            os.rename(partial, folder)
        except OSError:  # another process got there first
            shutil.rmtree(partial, ignore_errors=True)
    return {"log_path": str(folder), "settings": {"prediction": "score", "label": "label"}}
