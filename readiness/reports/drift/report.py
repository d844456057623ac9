"""Drift report: does the data the model will see still look like the data it learned from?

The reference (training data, or a saved profile of it) fixes kinds, bin edges and
categories; the current data is read in batches, binned against them and merged,
so memory stays bounded however large the file. Checks:

* ``drift.schema.*`` — columns missing or new in current, dtype changes;
* ``drift.column.<name>`` — one effect size decides per kind (Wasserstein / std for
  numeric, Jensen-Shannon base 2 for categorical; configurable), the others shown;
* ``drift.missing.<name>``, ``drift.unseen.<name>``, ``drift.range.<name>`` — data
  quality shifts as signals of their own;
* ``drift.prediction.*`` — with a model: drift of the scores and the mean-prediction shift;
* ``drift.target`` — when both sets have labels;
* ``drift.multivariate`` — a domain classifier (reference vs current) as 2·AUC − 1;
* ``drift.dataset`` — the share of drifted columns against the gate.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from readiness.config import DriftConfig
from readiness.data import parquet_text_columns, read_table, sha256_file, table_format
from readiness.display import Section, frame_html
from readiness.stats.drift_scores import DEFAULT_METHOD, METHODS, column_scores, null_scores, quality_shifts
from readiness.exceptions import ConfigError, InputError
from readiness.stats.gates import fmt
from readiness.stats.profile import (family_of, fit_reference, load_profile, merge_profiles, profile_frame,
                               reference_bins)
from readiness.results import Check, RecordsChecks, now_iso, report_document, write_json

REPORT = "drift_report"
PREDICTION = "__prediction__"
_Z99 = 2.3263  # one-sided 99% normal quantile
#: Expected false column flags per report when nothing drifted (learned and auto thresholds).
FALSE_FLAGS_PER_REPORT = 0.05
_Z999 = 3.0902  # one-sided 99.9% normal quantile


def _binomial_variance(share: float, n: int) -> float:
    return share * (1 - share) / n if n and np.isfinite(share) else 0.0


def _share_status(count: int, n: int, expected: float, warn_share: float, fail_share: float) -> tuple[str, float]:
    """warn / fail when the 99% lower confidence bound of a share (Wilson) exceeds the level plus
    what chance explains; returns the status and that lower bound."""
    if n <= 0:
        return "pass", 0.0
    p = count / n
    centre = (p + _Z99**2 / (2 * n)) / (1 + _Z99**2 / n)
    half = _Z99 * np.sqrt(p * (1 - p) / n + _Z99**2 / (4 * n * n)) / (1 + _Z99**2 / n)
    low = max(centre - half, 0.0)
    if low >= fail_share + expected:
        return "fail", low
    if low > warn_share + expected:
        return "warn", low
    return "pass", low


def _time_span(low: float | None, high: float | None) -> str:
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "—"
    start, end = pd.Timestamp(int(low)), pd.Timestamp(int(high))
    days = (end - start).total_seconds() / 86400
    return f"{start.isoformat(sep=' ')} to {end.isoformat(sep=' ')} ({days:,.1f} days)"


def iter_batches(path: Path, key: str, batch_rows: int, text_as_categories: bool = False) -> Iterator[pd.DataFrame]:
    """The rows of a CSV or Parquet file in batches (bounded memory); Parquet text columns
    dictionary-encoded (pandas categoricals) with ``text_as_categories``."""
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


def _row_aucs(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` against the same labels, all rows at once.

    The Mann-Whitney form with average ranks for ties equals ``roc_auc_score`` exactly,
    without its per-call input validation (50 calls cost more than the ranking).
    """
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    return (ranks[:, positive].sum(axis=1) - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


class DriftReport(RecordsChecks):
    """Profiles reference and current data, scores drift and builds each section."""

    def __init__(self, reference_path: str, current_path: str, model_path: str = "", target: str = "",
                 trust: dict[str, Any] | None = None, settings: dict[str, Any] | None = None):
        self.started_at = now_iso()
        self._clock = time.perf_counter()
        try:
            self.settings = DriftConfig.model_validate(settings or {})
        except Exception as exc:
            raise ConfigError(f"drift settings: {str(exc).splitlines()[-1].strip()}") from None
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
        self.model = None
        if model_path:
            from readiness.artifacts.loading import ModelAdapter, load_model

            estimator, self.model_info = load_model(model_path, "model", trust)
            self.model = ModelAdapter(estimator, "model")
        self._sections: dict[str, list[Check]] = {}
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
        cap = self.settings.multivariate_rows
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

    def _reference_rows(self) -> pd.DataFrame | None:
        """The reference's rows: all of them, or on Spark the fit's seeded sample (all rows up to
        100,000); None when the reference is a saved profile."""
        return self.reference_frame if self.reference_frame is not None else self.reference_sample

    # ---------------------------------------------------------------- thresholds

    def method_for(self, kind: str) -> str:
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
        if mode == "learned" and self._reference_rows() is None:
            raise ConfigError("drift.thresholds: learned thresholds need the reference data, not a profile")
        if mode in ("learned", "auto") and self._reference_rows() is not None:
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
        frame = self._reference_rows()
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

    # ---------------------------------------------------------------- sections

    def schema_section(self) -> Section:
        checks = []
        reference_columns = [c for c in self.reference if c != PREDICTION]
        label_absent = bool(self.target) and self.target in self.reference and self.target not in self.current_columns
        for name in reference_columns:
            if name == self.target and label_absent:
                # production data rarely has labels yet: normal, not a broken schema
                checks.append(Check("drift.schema.target", f"Label column {name}", "skip",
                                    f"the label column {name!r} is not in the current data, as usual for production data; "
                                    "target drift is checked when current data has labels", severity="info"))
            elif name not in self.current_columns:
                checks.append(Check(f"drift.schema.missing[{name}]", f"Column {name} missing", "fail",
                                    f"column {name!r} is in the reference but not in the current data", severity="critical"))
        for name in self.current_columns:
            if name not in self.reference:
                checks.append(Check(f"drift.schema.new[{name}]", f"New column {name}", "warn",
                                    f"column {name!r} is new in the current data (not in the reference)", severity="minor"))
        if not [c for c in checks if c.status != "skip"]:
            present = len(reference_columns) - label_absent
            checks.append(Check("drift.schema.columns", "Same columns", "pass",
                                f"all {present} reference columns are present"
                                + (f" (the label {self.target!r} aside)" if label_absent else "") + "; no new columns",
                                severity="critical"))
        kinds, changed = [], []
        for name in reference_columns:
            ref = self.reference[name]
            now = " / ".join(sorted(self.current_families.get(name, set()))) or "—"
            kinds.append({"column": name, "kind": ref.kind, "why": ref.reason, "reference type": ref.dtype_family or "—",
                          "current type": now})
            if ref.dtype_family and name in self.current_families and self.current_families[name] != {ref.dtype_family}:
                changed.append(name)
                checks.append(Check(f"drift.schema.dtype[{name}]", f"Type of {name} changed", "fail",
                                    f"column {name!r} holds {now} now but {ref.dtype_family} in the reference: the model "
                                    f"would see a different type; fix the export or the parsing of {name!r}",
                                    severity="critical", details={"reference": ref.dtype_family, "current": now}))
        if not changed and any(ref.dtype_family for ref in self.reference.values()):
            checks.append(Check("drift.schema.dtypes", "Same column types", "pass",
                                "every column present in both holds the same type (number, boolean, datetime or text)",
                                severity="critical"))
        return Section("Schema and column kinds", checks=self._record("schema", checks),
                       tables=[frame_html(pd.DataFrame(kinds))],
                       note="Kinds are inferred from the reference only (override with drift.kinds in readiness.yaml).")

    def columns_section(self) -> Section:
        checks, rows = [], []
        drifted = 0
        judged = 0
        for name, scores in self.scores.items():
            if name == PREDICTION or name == self.target:
                continue
            ref = self.reference[name]
            method = self.method_for(ref.kind)
            score, threshold = scores[method], self.thresholds[name]
            judged += 1
            is_drift = bool(np.isfinite(score) and score >= threshold)
            drifted += is_drift
            failing = self.fail_threshold(name, method)
            is_large = bool(is_drift and score >= failing)
            others = ", ".join(f"{METHODS[m].title_for(ref.kind)} {fmt(v)}" for m, v in scores.items() if m != method)
            noise = self.noise_levels.get(name)
            basis = (f"; the sampling noise at {self.current[name].n:,} rows reaches {fmt(noise)}"
                     if noise is not None and np.isfinite(noise) else "")
            large = (f"; at least {fmt(failing)}, a large effect: this column describes another population than "
                     "the one the model learned" if is_large else "")
            checks.append(Check(f"drift.column.{name}", f"Drift of {name}",
                                "fail" if is_large else "warn" if is_drift else "pass",
                                f"{METHODS[method].title_for(ref.kind)} {fmt(score)} {'≥' if is_drift else '<'} threshold "
                                f"{fmt(threshold)} ({ref.kind}; {'drift' if is_drift else 'no drift'}{basis}){large}; "
                                f"also {others}", severity="major", value=score,
                                threshold={"max": threshold, "fail": failing},
                                details={"method": method, "scores": scores, "noise": noise}))
            rows.append({"column": name, "kind": ref.kind, "method": METHODS[method].title_for(ref.kind), "score": fmt(score),
                         "threshold": fmt(threshold), "verdict": "drift" if is_drift else "ok",
                         **{METHODS[m].title_for(ref.kind): fmt(v) for m, v in scores.items() if m != method}})
        share = drifted / judged if judged else 0.0
        gate = self.settings.drift_share
        checks.append(Check("drift.dataset", "Share of drifted columns", "fail" if share >= gate else "pass",
                            f"{drifted} of {judged} columns drifted ({share:.0%}); the gate fails at {gate:.0%}"
                            + self._false_flag_note(judged), severity="critical", value=share, threshold={"max": gate}))
        rows.sort(key=lambda r: (r["verdict"] != "drift", r["column"]))
        tables = [frame_html(pd.DataFrame(rows))] if rows else []
        excluded = self._excluded_columns()
        if excluded:
            tables.append("<h4>Not scored for drift</h4>" + frame_html(pd.DataFrame(excluded)))
        return Section("Column drift", checks=self._record("columns", checks), tables=tables,
                       note="Effect sizes, not p-values: Wasserstein / reference std (numeric), Jensen-Shannon distance "
                            "base 2 in [0, 1] (categorical), KS D in [0, 1], PSI on reference deciles.")

    def fail_threshold(self, name: str, method: str) -> float:
        """The score at which one column's drift fails: the method's large effect (configurable),
        and at least twice the sampling noise at this size."""
        level = float(self.settings.fail_thresholds.get(method, METHODS[method].fail_threshold))
        noise = self.noise_levels.get(name, float("nan"))
        return max(level, 2 * noise) if np.isfinite(noise) else level

    def _excluded_columns(self) -> list[dict[str, str]]:
        """Ids and time columns, with the reason; a time column's span in both sets."""
        rows = []
        for name, ref in self.reference.items():
            if name == PREDICTION or ref.kind not in ("skipped", "datetime") or name not in self.current_columns:
                continue
            row = {"column": name, "why": ref.reason, "reference span": "", "current span": ""}
            if ref.kind == "datetime":
                cur = self.current[name]
                row["reference span"] = _time_span(ref.ref_minimum, ref.ref_maximum)
                row["current span"] = _time_span(cur.minimum, cur.maximum)
            rows.append(row)
        return rows

    #: Smallest rescaling called "other units": unit conversions are ×1.6 (miles) or more
    #: (pounds 2.2, inches 2.54, percent 100, grams 1000); a population rarely moves
    #: its median and its spread by the same factor that large.
    UNITS_FACTOR = 1.5

    def _units_check(self, name: str) -> Check | None:
        """Current values that look like the reference's in other units: median and inter-quartile
        range scaled by the same factor k (≥ 1.5 or ≤ 1/1.5), and current / k distributed like the
        reference (KS within sampling noise) although current itself is not."""
        reference_rows = self._reference_rows()
        if reference_rows is None or name not in self.sample.columns:
            return None
        ref = pd.to_numeric(reference_rows[name], errors="coerce").to_numpy(float)
        cur = pd.to_numeric(self.sample[name], errors="coerce").to_numpy(float)
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        if ref.size < 20 or cur.size < 20:
            return None
        (r25, r50, r75), (c25, c50, c75) = np.quantile(ref, [0.25, 0.5, 0.75]), np.quantile(cur, [0.25, 0.5, 0.75])
        title = f"Units of {name}"
        if r50 == 0 or c50 == 0 or np.sign(r50) != np.sign(c50) or r75 <= r25 or c75 <= c25:
            return Check(f"drift.units.{name}", title, "pass", "not judged: the median is 0 or changed sign",
                         severity="info")
        by_median, by_spread = c50 / r50, (c75 - c25) / (r75 - r25)
        factor = float(np.sqrt(by_median * by_spread))
        consistent = abs(np.log(by_median / by_spread)) <= np.log(1.15)
        from scipy.stats import ks_2samp

        noise = 1.63 * np.sqrt(1 / ref.size + 1 / cur.size)  # KS at 99% for two samples
        rescaled = float(ks_2samp(cur / factor, ref).statistic)
        as_is = float(ks_2samp(cur, ref).statistic)
        other_units = (consistent and abs(np.log(factor)) >= np.log(self.UNITS_FACTOR)
                       and rescaled <= max(noise, 0.1) and as_is > 3 * rescaled)
        detail = (f"median ×{fmt(by_median)}, inter-quartile range ×{fmt(by_spread)}; current ÷ {fmt(factor)} vs reference: "
                  f"KS {fmt(rescaled)} (as is: {fmt(as_is)})")
        if other_units:
            return Check(f"drift.units.{name}", title, "fail",
                         f"the current values look like the reference's × {fmt(factor)}: {detail}. Other units upstream "
                         "(e.g. miles and km, pounds and kg, percent and fraction)? The model would read them as the old units",
                         severity="critical", value=factor, details={"factor": factor, "ks_rescaled": rescaled,
                                                                     "ks": as_is})
        return Check(f"drift.units.{name}", title, "pass", f"no sign of other units ({detail})", severity="info",
                     value=factor)

    def _unseen_examples(self, name: str) -> list[str]:
        """The most frequent unseen categories in the current sample (for the message)."""
        if name not in self.sample.columns:
            return []
        ref = self.reference[name]
        known = set(ref.categories[:-2]) | set(ref.rare)
        values = self.sample[name].dropna().astype(str)
        counts = values[~values.isin(known)].value_counts()
        return [str(v) for v in counts.index[:5]]

    def _false_flag_note(self, columns: int) -> str:
        if self.settings.thresholds == "learned":
            return (f"; learned thresholds (the sampling noise of each score at this size): about "
                    f"{FALSE_FLAGS_PER_REPORT:g} false flags expected across all {columns} columns")
        if self.settings.thresholds == "auto" and self.noise_levels:
            return (f"; thresholds are each method's documented level, raised to the sampling noise at this size where "
                    f"larger: at most {FALSE_FLAGS_PER_REPORT:g} false flags expected across all {columns} columns")
        return ""

    def quality_section(self) -> Section:
        checks, rows = [], []
        settings = self.settings
        for name, ref in self.reference.items():
            if name == PREDICTION or ref.kind == "skipped" or name not in self.current_columns:
                continue
            cur = self.current[name]
            shifts = quality_shifts(ref, cur)
            change = shifts["missing_current"] - shifts["missing_reference"]
            # the change beyond what sampling explains (99% one-sided, normal approximation)
            noise = _Z99 * np.sqrt(_binomial_variance(shifts["missing_reference"], ref.n)
                                   + _binomial_variance(shifts["missing_current"], cur.n))
            beyond = max(abs(change) - noise, 0.0)
            status = "fail" if change > 0 and beyond >= settings.fail_share else (
                "warn" if beyond > settings.missing_change else "pass")
            checks.append(Check(f"drift.missing.{name}", f"Missing values in {name}", status,
                                f"missing {shifts['missing_reference']:.1%} in reference, {shifts['missing_current']:.1%} now "
                                f"(change {change:+.1%}, of which ±{noise:.1%} is sampling noise; warns when the change beyond "
                                f"noise exceeds ±{settings.missing_change:.0%}, fails when missing values rise by "
                                f"{settings.fail_share:.0%} or more)" + (": the feed of this column broke" if status == "fail" else ""),
                                severity="major", value=change, threshold={"max": settings.missing_change,
                                                                           "fail": settings.fail_share}))
            row = {"column": name, "missing (ref)": f"{shifts['missing_reference']:.1%}",
                   "missing (now)": f"{shifts['missing_current']:.1%}"}
            if "unseen_share" in shifts:
                share, expected = shifts["unseen_share"], shifts["unseen_expected"]
                status, low = _share_status(shifts["unseen_count"], cur.present, expected, settings.unseen_share,
                                            settings.fail_share)
                unseen = [c for c in self._unseen_examples(name)][:5]
                checks.append(Check(f"drift.unseen.{name}", f"Unseen categories in {name}", status,
                                    f"{share:.2%} of current values are categories the reference never had"
                                    + (f" (e.g. {', '.join(map(repr, unseen))})" if unseen else "")
                                    + f"; at least {low:.2%} with 99% confidence, against {expected:.2%} expected from the "
                                    f"reference's rare categories; warns above {settings.unseen_share:.0%}, fails at "
                                    f"{settings.fail_share:.0%}" + (": a category was renamed or recoded upstream"
                                                                   if status == "fail" else ""),
                                    severity="major", value=share,
                                    threshold={"max": settings.unseen_share, "fail": settings.fail_share}))
                row["unseen categories"] = f"{share:.2%}"
            if "out_of_range_share" in shifts:
                share, expected = shifts["out_of_range_share"], shifts["out_of_range_expected"]
                status, low = _share_status(shifts["out_of_range_count"], cur.present, expected,
                                            settings.out_of_range_share, settings.fail_share)
                checks.append(Check(f"drift.range.{name}", f"Values outside the reference range in {name}", status,
                                    f"{share:.2%} of current values lie outside the reference range "
                                    f"[{fmt(ref.ref_minimum)}, {fmt(ref.ref_maximum)}] (now {fmt(cur.minimum)} to "
                                    f"{fmt(cur.maximum)}); at least {low:.2%} with 99% confidence, against {expected:.2%} "
                                    f"expected by chance; warns above {settings.out_of_range_share:.0%}, fails at "
                                    f"{settings.fail_share:.0%}" + (": other units or a changed encoding upstream?"
                                                                   if status == "fail" else ""),
                                    severity="major", value=share,
                                    threshold={"max": settings.out_of_range_share, "fail": settings.fail_share}))
                row["outside range"] = f"{share:.2%}"
                units = self._units_check(name)
                if units is not None:
                    checks.append(units)
                    row["looks rescaled"] = f"×{fmt(units.value)}" if units.status == "fail" else ""
            rows.append(row)
        return Section("Data quality shifts", checks=self._record("quality", checks),
                       tables=[frame_html(pd.DataFrame(rows))] if rows else [],
                       note="Missing values, unseen categories and out-of-range values are signals of their own; "
                            "they are never silently dropped. Each is judged beyond sampling noise: a share warns when "
                            "its 99% lower confidence bound exceeds the warning level plus what chance explains, and "
                            f"fails at {settings.fail_share:.0%} of the rows (the column no longer carries what the model learned).")

    def prediction_section(self) -> Section:
        checks = []
        if PREDICTION not in self.reference:
            reason = ("no model given" if self.model is None
                      else "the reference is a profile without predictions (profile it with --model)")
            checks.append(Check("drift.prediction.mean_shift", "Mean prediction shift", "skip", reason, severity="critical"))
        else:
            ref, cur = self.reference[PREDICTION], self.current[PREDICTION]
            scores = self.scores.get(PREDICTION, column_scores(ref, cur))
            method = "wasserstein_norm"
            score = scores[method]
            threshold = self.thresholds.get(PREDICTION, METHODS[method].threshold)
            drift = score >= threshold
            checks.append(Check("drift.prediction.distribution", "Prediction distribution", "warn" if drift else "pass",
                                f"{METHODS[method].title} of the model's scores {fmt(score)} {'≥' if drift else '<'} "
                                f"threshold {fmt(threshold)} (KS {fmt(scores['ks'])})",
                                severity="critical", value=score, threshold={"max": threshold}))
            low, high = self.settings.mean_prediction_ratio
            ratio = cur.mean / ref.mean if ref.mean else float("inf")
            ok = low <= ratio <= high
            checks.append(Check("drift.prediction.mean_shift", "Mean prediction shift", "pass" if ok else "fail",
                                f"mean prediction {fmt(cur.mean)} now vs {fmt(ref.mean)} on the reference: ratio ×{fmt(ratio)}"
                                + ("" if ok else f", outside [{fmt(low)}, {fmt(high)}]"), severity="critical", value=ratio,
                                threshold={"min": low, "max": high}))
        if self.target and self.target in self.reference and self.target in self.current_columns:
            ref = self.reference[self.target]
            method = self.method_for(ref.kind)
            score = self.scores[self.target][method]
            drift = score >= self.thresholds[self.target]
            checks.append(Check("drift.target", "Target drift", "warn" if drift else "pass",
                                f"{METHODS[method].title_for(ref.kind)} of the labels {fmt(score)} "
                                f"(threshold {fmt(self.thresholds[self.target])})", severity="major", value=score))
        return Section("Prediction and target drift", checks=self._record("prediction", checks))

    def multivariate_section(self) -> Section:
        reference_rows = self._reference_rows()
        if not self.settings.multivariate or reference_rows is None:
            reason = "disabled" if not self.settings.multivariate else "needs the reference data, not a profile"
            return Section("Multivariate drift", checks=self._record("multivariate", [
                Check("drift.multivariate", "Domain classifier", "skip", reason)]))
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split

        # ids and time columns separate any two periods perfectly and say nothing about the population
        columns = [n for n, p in self.reference.items() if p.kind not in ("skipped", "datetime") and n in self.current_columns
                   and n not in (PREDICTION, self.target)]
        cap = self.settings.multivariate_rows
        ref = reference_rows[columns].sample(min(cap, len(reference_rows)), random_state=self.settings.seed)
        cur = self.sample[columns].head(cap)
        both = pd.concat([ref, cur], ignore_index=True)
        categorical = [self.reference[c].kind in ("categorical", "boolean") for c in columns]
        encoded = np.empty((len(both), len(columns)))
        for j, column in enumerate(columns):  # integer codes once, instead of encoding at every predict
            if categorical[j]:
                codes, _ = pd.factorize(both[column].astype(str))
                encoded[:, j] = np.where(codes < 0, np.nan, codes % 250)  # HGB categories must be < 255
            else:
                encoded[:, j] = pd.to_numeric(both[column], errors="coerce")
        label = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
        X_train, X_test, y_train, y_test = train_test_split(encoded, label, test_size=0.3, random_state=self.settings.seed,
                                                            stratify=label)
        model = HistGradientBoostingClassifier(max_iter=50, max_depth=3, categorical_features=np.array(categorical),
                                               random_state=self.settings.seed).fit(X_train, y_train)
        auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
        score = max(2 * auc - 1, 0.0)
        # AUC of a classifier that cannot tell the sets apart is 0.5 ± sd (Mann-Whitney null):
        # at a few hundred held-out rows 2·AUC − 1 reaches 0.3 by chance alone
        n_ref_test, n_cur_test = int((y_test == 0).sum()), int((y_test == 1).sum())
        null_sd = np.sqrt((n_ref_test + n_cur_test + 1) / (12 * n_ref_test * n_cur_test))
        noise = 2 * _Z999 * null_sd
        separable = score >= max(self.settings.multivariate_threshold, noise)
        # permutation importance (how much each column separates the sets): every column's
        # shuffled copy of the held-out rows is scored in one predict call, which is
        # several times faster than one call per column
        rng = np.random.default_rng(self.settings.seed)
        rows = rng.choice(len(X_test), min(2000, len(X_test)), replace=False)
        X_check, y_check = X_test[rows], y_test[rows]
        shuffled = np.repeat(X_check[np.newaxis], len(columns) + 1, axis=0)
        for j in range(len(columns)):
            shuffled[j + 1, :, j] = rng.permutation(X_check[:, j])
        scored = model.predict_proba(shuffled.reshape(-1, len(columns)))[:, 1].reshape(len(columns) + 1, len(rows))
        aucs = _row_aucs(scored, y_check.astype(bool))
        drops = {column: aucs[0] - aucs[j + 1] for j, column in enumerate(columns)}
        # shuffling a column that does not matter moves the AUC by noise only (about ±0.001 on 2,000 rows)
        top = [(c, d) for c, d in sorted(drops.items(), key=lambda kv: -kv[1]) if d >= 0.001][:5]
        if not separable:
            separating = "the sets are not distinguishable beyond chance, so no column is named"
        elif top:
            separating = ("the columns separating them most (AUC lost when the column is shuffled): "
                          + ", ".join(f"{c} (loses {fmt(d)})" for c, d in top))
        else:
            separating = "no single column separates them (shuffling any one costs < 0.001 AUC)"
        status = "warn" if separable else "pass"
        checks = [Check("drift.multivariate", "Domain classifier (reference vs current)", status,
                        f"2·AUC − 1 = {fmt(score)} (AUC {fmt(auc)} on {len(y_test):,} held-out rows; 0 = indistinguishable, "
                        f"1 = fully separable; chance alone reaches {fmt(noise)} at this size); {separating}",
                        severity="major", value=score, threshold={"max": max(self.settings.multivariate_threshold, noise)},
                        details={"auc": float(auc), "noise": float(noise),
                                 "auc_lost_when_shuffled": {c: float(d) for c, d in drops.items()}})]
        return Section("Multivariate drift", checks=self._record("multivariate", checks))

    def scores_figure(self):
        from readiness.figures.common import drift_scores_figure

        return drift_scores_figure(self)

    def distributions_figure(self):
        from readiness.figures.common import drift_distributions_figure

        return drift_distributions_figure(self)

    def finish(self, results_path: str) -> Section:
        reference = {"path": str(self.reference_path), "sha256": self._file_hashes["reference"].result(),
                     "rows": next(iter(self.reference.values())).n if self.reference else 0}
        current = {"path": str(self.current_path), "sha256": self._file_hashes["current"].result(),
                   "rows": max((c.n for c in self.current.values()), default=0)}
        document = report_document(REPORT, self.checks, {"reference": reference, "current": current},
                                   self.started_at, time.perf_counter() - self._clock,
                                   parameters={"settings": self.settings.model_dump(mode="json")})
        write_json(results_path, document)
        return Section.verdict(document)
