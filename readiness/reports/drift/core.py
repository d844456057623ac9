"""The drift report's core: reference and current data profiled, every column scored, thresholds set.

The reference (training data, or a saved profile of it) fixes kinds, bin edges and
categories; the current data is read in batches (:func:`iter_batches`), binned against
them and merged, so memory stays bounded however large the file. :class:`DriftCore`
holds the profiles, each column's drift scores and the threshold that decides it; the
sections (:mod:`readiness.reports.drift.sections`) turn them into checks and tables.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from readiness.config import ConfigError, section_settings
from readiness.data import parquet_text_columns, read_table, sha256_file, table_format
from readiness.exceptions import InputError
from readiness.stats.drift_scores import DEFAULT_METHOD, METHODS, column_scores, null_scores
from readiness.stats.profile import (family_of, fit_reference, load_profile, merge_profiles, profile_frame,
                                     reference_bins)

#: The column name the model's predictions are profiled under.
PREDICTION = "__prediction__"
#: Expected false column flags per report when nothing drifted (learned and auto thresholds).
FALSE_FLAGS_PER_REPORT = 0.05
#: Where the kernel's settings come from, as its error messages name it.
SETTINGS_SOURCE = "settings"


def iter_batches(path: Path, key: str, batch_rows: int, text_as_categories: bool = False) -> Iterator[pd.DataFrame]:
    """The rows of a CSV or Parquet file in batches (bounded memory); Parquet text columns
    dictionary-encoded (pandas categoricals) with ``text_as_categories``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"age": range(10), "plan": ["basic", "pro"] * 5}).to_parquet(folder / "today.parquet")
    >>> [len(batch) for batch in iter_batches(folder / "today.parquet", "current", batch_rows=4)]
    [4, 4, 2]
    >>> str(next(iter_batches(folder / "today.parquet", "current", 4, text_as_categories=True))["plan"].dtype)
    'category'
    >>> _ = (folder / "empty.csv").write_text("")
    >>> next(iter_batches(folder / "empty.csv", "current", 4))
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: /.../empty.csv: file is empty; 'current' needs data
    """
    fmt = table_format(path, key)
    if not path.exists():
        raise InputError(f"{path}: file not found; check the {key!r} path")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty; {key!r} needs data")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            handle = pq.ParquetFile(path)
            if text_as_categories:
                handle = pq.ParquetFile(path, read_dictionary=parquet_text_columns(handle.schema_arrow))
        except Exception as exc:
            raise InputError(f"{path}: not a readable Parquet file ({str(exc)[:150]}); re-export it") from None
        if handle.metadata.num_rows == 0:
            raise InputError(f"{path}: has no rows; {key!r} needs data")
        # one row group at a time: over a whole file, Arrow's reader decodes row groups ahead
        # of the consumer and held 3 GB for a 10M-row file; per row group it holds one
        for group in range(handle.num_row_groups):
            for batch in handle.iter_batches(batch_size=batch_rows, row_groups=[group]):
                yield batch.to_pandas(split_blocks=True)
        return
    try:
        reader = pd.read_csv(path, chunksize=batch_rows)
        first = True
        for chunk in reader:
            first = False
            yield chunk
        if first:
            raise InputError(f"{path}: has a header but no rows; {key!r} needs data")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: no columns to read (empty CSV); {key!r} needs data") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0][:150]})") from None



class DriftCore:
    """Profiles reference and current data and scores every column against its threshold.

    Parameters mirror the notebook's parameters cell; ``settings`` is the ``drift``
    section of readiness.yaml, validated again here with the CLI's messages.

    Attributes
    ----------
    reference, current : dict of name → ColumnProfile
        Mergeable per-column profiles (current binned on the reference's edges).
    scores : dict of name → dict of method → float
        Every method's score per scored column (ids and time columns are not scored).
    thresholds : dict of name → float
        The deciding method's threshold per column.
    noise_levels : dict of name → float
        The sampling noise of each score at the current data's size (``auto`` and ``learned``).

    Examples
    --------
    >>> core = DriftCore("train.parquet", "today.parquet")  # doctest: +SKIP
    >>> core.method_for("numeric"), core.thresholds["age"]  # doctest: +SKIP
    ('wasserstein_norm', 0.1)
    """

    def __init__(self, reference_path: str, current_path: str, model_path: str = "", target: str = "",
                 trust: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
                 baseline_path: str = "", sources: dict[str, list[str]] | None = None,
                 consistency: dict[str, Any] | None = None):
        self.settings = section_settings("drift", settings, SETTINGS_SOURCE)
        spark = self.settings.engine == "spark"  # profiled where the data lives: readiness.engines.spark
        if spark and model_path:
            raise ConfigError("drift.engine spark does not score a model's predictions yet; drop the model or use the "
                              "pandas engine")
        # Spark reads folders, globs and URLs (s3a://, which a Path would mangle): its locations stay text
        self.reference_path, self.current_path = ((reference_path, current_path) if spark
                                                  else (Path(reference_path), Path(current_path)))
        if spark:
            from readiness.engines import spark as spark_engine
        # Hashing both files for the provenance runs beside the profiling: hashlib releases
        # the GIL, so it costs no wall time. (Importing scikit-learn there was tried and
        # dropped: an import holds the GIL and stalled the profiling threads as much as it saved.)
        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness-hash")
        hash_of = spark_engine.sha256_if_file if spark else sha256_file
        self._file_hashes: dict[str, Future] = {
            "reference": background.submit(hash_of, self.reference_path),
            "current": background.submit(hash_of, self.current_path)}
        background.shutdown(wait=False)
        self.target = target or None
        from readiness.reports.drift.attribution import attribution_options

        # readiness.yaml baseline:, sources:, consistency: for the data attribution (readiness.reports.drift.attribution)
        self.attribution_options = attribution_options(baseline_path, sources, consistency, trust)
        self.model = None
        if model_path:
            from readiness.artifacts.loading import ModelAdapter, load_model

            estimator, self.model_info = load_model(model_path, "model", trust)
            self.model = ModelAdapter(estimator, "model")
        self.reference_frame: pd.DataFrame | None = None
        self.reference_sample: pd.DataFrame | None = None  # Spark: rows for the domain classifier, not the whole set
        if Path(self.reference_path).suffix.lower() == ".json" and not (spark and spark_engine.is_url(reference_path)):
            self.reference = load_profile(self.reference_path)
        elif spark:
            self.reference, self.reference_sample = spark_engine.drift_reference(self.reference_path, self.settings)
        else:
            # text as categoricals halves reading and counting time; a model gets the data as written
            self.reference_frame = read_table(self.reference_path, "reference", text_as_categories=self.model is None)
            if self.model is not None:
                self.reference_frame = self.reference_frame.assign(**{PREDICTION: self._predict(self.reference_frame)})
            self.reference = fit_reference(self.reference_frame, self.settings.bins, self.settings.max_categories,
                                           self.settings.kinds)
        self.current, self.current_columns, self.current_families, self.sample = self._profile_current()
        # time columns are not scored: time always moves on (their span is reported instead)
        self.scores = {name: column_scores(ref, self.current[name]) for name, ref in self.reference.items()
                       if ref.kind not in ("skipped", "datetime") and name in self.current_columns}
        self.thresholds = self._thresholds()

    # ---------------------------------------------------------------- reading

    def _predict(self, frame: pd.DataFrame) -> np.ndarray:
        from readiness.artifacts.loading import Scorer

        columns = self.model.feature_names or [c for c in frame.columns if c not in (self.target, PREDICTION)]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"the model needs columns missing from the data: {', '.join(map(repr, missing[:10]))}")
        scores = Scorer(self.model, "regression" if self.model.classes is None else "binary")(frame[columns])[0]
        return np.asarray(scores)[:, -1] if np.ndim(scores) == 2 else np.asarray(scores, dtype=float)

    def _profile_current(self):
        if self.settings.engine == "spark":
            from readiness.engines.spark import drift_current

            return drift_current(self.current_path, self.reference, self.settings)
        parts, columns, families, sample = [], None, {}, []
        rng = np.random.default_rng(self.settings.seed)
        from readiness.reports.drift.attribution import sample_rows

        cap = max(self.settings.multivariate_rows, sample_rows(self))  # the attribution reads the sample too
        for batch in iter_batches(self.current_path, "current", self.settings.batch_rows, text_as_categories=self.model is None):
            if columns is None:
                columns = [str(c) for c in batch.columns]
            if self.model is not None and PREDICTION in self.reference:
                batch = batch.assign(**{PREDICTION: self._predict(batch)})
            parts.append(profile_frame(batch, self.reference))
            for name in columns:
                counted = parts[-1].get(name)
                # a chunk in which the column is all missing has no type to speak of (CSV reads it as float)
                if counted is None or counted.missing < counted.n or batch[name].notna().any():
                    families.setdefault(name, set()).add(family_of(batch[name]))
            # uniform sample of the stream for the domain classifier: keep the rows with the
            # smallest random keys (a reservoir that never holds more than a few caps of rows)
            keys = rng.random(len(batch))
            keep = np.argpartition(keys, cap)[:cap] if len(batch) > cap else np.arange(len(batch))
            sample.append(batch.iloc[keep].assign(_key=keys[keep]))
            if sum(len(s) for s in sample) > 4 * cap:
                sample = [pd.concat(sample).nsmallest(cap, "_key")]
        if columns is None:
            raise InputError(f"{self.current_path}: has no rows; 'current' needs data")
        merged = merge_profiles(parts)
        current_sample = pd.concat(sample).nsmallest(cap, "_key").drop(columns="_key")
        return merged, columns, families, current_sample

    def reference_rows(self) -> pd.DataFrame | None:
        """The reference's rows: all of them, or on Spark the fit's seeded sample (all rows up to
        100,000); None when the reference is a saved profile."""
        return self.reference_frame if self.reference_frame is not None else self.reference_sample

    # ---------------------------------------------------------------- thresholds

    def method_for(self, kind: str) -> str:
        """The method that decides columns of ``kind`` (``numeric``, ``categorical``...)."""
        return self.settings.methods.get(kind, DEFAULT_METHOD[kind])

    def _thresholds(self) -> dict[str, float]:
        """Per column: the deciding method's threshold.

        ``auto`` (the default): the method's documented threshold, raised to the sampling
        noise of the score at the current data's size where that is larger (small sets);
        ``learned``: the noise level alone; ``default``: the documented threshold alone.
        """
        out = {}
        mode = self.settings.thresholds
        self.noise_levels: dict[str, float] = {}
        if mode == "learned" and self.reference_rows() is None:
            raise ConfigError("drift.thresholds: learned thresholds need the reference data, not a profile")
        if mode in ("learned", "auto") and self.reference_rows() is not None:
            self.noise_levels = self._learn_thresholds()
        for name, ref in self.reference.items():
            if ref.kind in ("skipped", "datetime"):
                continue
            method = self.method_for(ref.kind)
            noise = self.noise_levels.get(name, float("nan"))
            if isinstance(mode, dict) and method in mode:
                out[name] = float(mode[method])
            elif mode == "learned" and np.isfinite(noise):
                out[name] = noise
            elif mode == "auto" and np.isfinite(noise):
                out[name] = max(noise, METHODS[method].threshold)
            else:
                out[name] = METHODS[method].threshold
        return out

    #: Reference rows drawn per null sample; scores at larger current sizes are scaled from it.
    LEARN_ROWS = 5_000

    def _learn_thresholds(self) -> dict[str, float]:
        """The level each score stays below when nothing drifted, at the current data's size.

        Reference subsamples of the current size (at most half the reference, at most
        ``LEARN_ROWS`` rows) are scored against the reference. A subsample is part of the
        reference, so its distance is smaller than an independent sample's: the noise of a
        distance scales with sqrt(1/m − 1/n) there but sqrt(1/m + 1/n) for new data, and the
        learned levels are scaled up by that ratio (its square for divergences such as PSI),
        and down by sqrt(rows drawn / current rows) when the current data is larger than the draw.
        """
        frame = self.reference_rows()
        # all rows of the reference; on Spark, frame is a uniform sample of them (a subsample of it
        # is a subsample of the reference) and the whole reference when it has at most 100,000 rows
        n = len(frame) if self.reference_frame is not None else next(iter(self.reference.values())).n
        current_rows = max((c.n for c in self.current.values()), default=0) or n  # a column absent now counts 0 rows
        size = max(2, min(current_rows, n // 2, self.LEARN_ROWS))
        overlap = np.sqrt((1 / size + 1 / n) / max(1 / size - 1 / n, 1e-12))
        larger = np.sqrt(size / current_rows) if current_rows > size else 1.0
        rng = np.random.default_rng(self.settings.seed)
        scored = {name: ref for name, ref in self.reference.items() if ref.kind not in ("skipped", "datetime")}
        # draws come from a random pool of at most ten draws' worth of rows (a subsample of a random
        # subset of the reference is a random subsample of the reference): a 10M-row reference is
        # binned once on 50,000 rows, not in full (the noise of larger sets is scaled from 5,000-row draws)
        pool = np.sort(rng.choice(len(frame), 10 * size, replace=False)) if len(frame) > 10 * size else None
        # each pooled row's bin (or category) once; a subsample's counts are then one bincount
        bins = {name: reference_bins(frame[name] if pool is None else frame[name].iloc[pool], ref)
                for name, ref in scored.items()}
        available = len(frame) if pool is None else len(pool)
        draws = [np.sort(rng.choice(available, size, replace=False)) for _ in range(self.settings.learned_samples)]
        rows = np.stack(draws)
        offsets = np.arange(len(draws))[:, None]
        null: dict[str, list[float]] = {}
        for name, ref in scored.items():
            width = len(ref.counts)
            picked = bins[name][rows]
            # every draw's counts in one bincount: draw d's bin b is cell d * width + b
            cells = np.where(picked >= 0, picked + offsets * width, -1).ravel()
            counts = np.bincount(cells[cells >= 0], minlength=len(draws) * width).reshape(len(draws), width)
            null[name] = list(null_scores(self.method_for(ref.kind), ref, counts))
        # One false flag in twenty reports, whatever the number of columns: each column's level is
        # the 1 − 0.05/k quantile of its null, from a gamma fitted to the draws by moments (100 draws
        # cannot show a 99.9th percentile directly; the null of a distance is skewed and positive).
        from scipy.stats import gamma

        quantile = 1 - FALSE_FLAGS_PER_REPORT / max(len(null), 1)
        out = {}
        for name, values in null.items():
            power = METHODS[self.method_for(self.reference[name].kind)].noise_power
            draws = np.asarray(values, float)
            draws = draws[np.isfinite(draws)] * float(overlap * larger) ** power
            if draws.size < 2:
                out[name] = float("nan")
                continue
            mean, var = float(draws.mean()), float(draws.var(ddof=1))
            out[name] = (float(gamma.ppf(quantile, mean**2 / var, scale=var / mean)) if mean > 0 and var > 0
                         else float(draws.max()))
        return out

    def fail_threshold(self, name: str, method: str) -> float:
        """The score at which one column's drift fails: the method's large effect (configurable),
        and at least twice the sampling noise at this size."""
        level = float(self.settings.fail_thresholds.get(method, METHODS[method].fail_threshold))
        noise = self.noise_levels.get(name, float("nan"))
        return max(level, 2 * noise) if np.isfinite(noise) else level
