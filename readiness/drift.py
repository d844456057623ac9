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
from readiness.drift_scores import DEFAULT_METHOD, METHODS, column_scores, quality_shifts
from readiness.exceptions import ConfigError, InputError
from readiness.gates import fmt
from readiness.profile import (ColumnProfile, family_of, fit_reference, load_profile, merge_profiles, profile_frame)
from readiness.results import Check, RecordsChecks, now_iso, report_document, write_json

REPORT = "drift_report"
PREDICTION = "__prediction__"


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
        spark = self.settings.engine == "spark"  # profiled where the data lives: readiness.spark_engine
        if spark and model_path:
            raise ConfigError("drift.engine spark does not score a model's predictions yet; drop the model or use the "
                              "pandas engine")
        # Spark reads folders, globs and URLs (s3a://, which a Path would mangle): its locations stay text
        self.reference_path, self.current_path = ((reference_path, current_path) if spark
                                                  else (Path(reference_path), Path(current_path)))
        if spark:
            from readiness import spark_engine
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
            from readiness.artifacts import ModelAdapter, load_model

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
        self.scores = {name: column_scores(ref, self.current[name]) for name, ref in self.reference.items()
                       if ref.kind != "skipped" and name in self.current_columns}
        self.thresholds = self._thresholds()

    # ---------------------------------------------------------------- reading

    def _predict(self, frame: pd.DataFrame) -> np.ndarray:
        from readiness.robustness import Scorer

        columns = self.model.feature_names or [c for c in frame.columns if c not in (self.target, PREDICTION)]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"the model needs columns missing from the data: {', '.join(map(repr, missing[:10]))}")
        scores = Scorer(self.model, "regression" if self.model.classes is None else "binary")(frame[columns])[0]
        return np.asarray(scores)[:, -1] if np.ndim(scores) == 2 else np.asarray(scores, dtype=float)

    def _profile_current(self):
        if self.settings.engine == "spark":
            from readiness.spark_engine import drift_current

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

    # ---------------------------------------------------------------- thresholds

    def method_for(self, kind: str) -> str:
        return self.settings.methods.get(kind, DEFAULT_METHOD[kind])

    def _thresholds(self) -> dict[str, float]:
        """Per column: the deciding method's threshold (fixed, or learned from the reference)."""
        out = {}
        mode = self.settings.thresholds
        learned = {}
        if mode == "learned":
            if self.reference_frame is None:
                raise ConfigError("drift.thresholds: learned thresholds need the reference data, not a profile")
            learned = self._learn_thresholds()
        for name, ref in self.reference.items():
            if ref.kind == "skipped":
                continue
            method = self.method_for(ref.kind)
            if isinstance(mode, dict) and method in mode:
                out[name] = float(mode[method])
            elif name in learned:
                out[name] = learned[name]
            else:
                out[name] = METHODS[method].threshold
        return out

    def _learn_thresholds(self) -> dict[str, float]:
        """The null spread of each score at the current data's size: reference subsamples
        scored against the reference; threshold = their 99th percentile (so about 1% of
        columns false-alarm when nothing drifted)."""
        frame = self.reference_frame
        size = min(self.current[next(iter(self.current))].n or len(frame), len(frame) // 2)
        rng = np.random.default_rng(self.settings.seed)
        null: dict[str, list[float]] = {}
        for _ in range(self.settings.learned_samples):
            rows = rng.choice(len(frame), size, replace=False)
            profile = profile_frame(frame.iloc[rows], self.reference)
            for name, ref in self.reference.items():
                if ref.kind == "skipped":
                    continue
                method = METHODS[self.method_for(ref.kind)]
                null.setdefault(name, []).append(method.compute(ref, profile[name]))
        return {name: float(np.nanpercentile(values, 99)) for name, values in null.items()}

    # ---------------------------------------------------------------- sections

    def schema_section(self) -> Section:
        checks = []
        reference_columns = [c for c in self.reference if c != PREDICTION]
        for name in reference_columns:
            if name not in self.current_columns:
                checks.append(Check(f"drift.schema.missing[{name}]", f"Column {name} missing", "fail",
                                    f"column {name!r} is in the reference but not in the current data", severity="critical"))
        for name in self.current_columns:
            if name not in self.reference:
                checks.append(Check(f"drift.schema.new[{name}]", f"New column {name}", "warn",
                                    f"column {name!r} is new in the current data (not in the reference)", severity="minor"))
        if not checks:
            checks.append(Check("drift.schema.columns", "Same columns", "pass",
                                f"all {len(reference_columns)} reference columns are present; no new columns", severity="critical"))
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
            others = ", ".join(f"{METHODS[m].title} {fmt(v)}" for m, v in scores.items() if m != method)
            checks.append(Check(f"drift.column.{name}", f"Drift of {name}", "warn" if is_drift else "pass",
                                f"{METHODS[method].title} {fmt(score)} {'≥' if is_drift else '<'} threshold {fmt(threshold)} "
                                f"({ref.kind}; {'drift' if is_drift else 'no drift'}); also {others}",
                                severity="major", value=score, threshold={"max": threshold},
                                details={"method": method, "scores": scores}))
            rows.append({"column": name, "kind": ref.kind, "method": METHODS[method].title, "score": fmt(score),
                         "threshold": fmt(threshold), "verdict": "drift" if is_drift else "ok",
                         **{METHODS[m].title: fmt(v) for m, v in scores.items() if m != method}})
        share = drifted / judged if judged else 0.0
        gate = self.settings.drift_share
        checks.append(Check("drift.dataset", "Share of drifted columns", "fail" if share >= gate else "pass",
                            f"{drifted} of {judged} columns drifted ({share:.0%}); the gate fails at {gate:.0%}"
                            + self._false_flag_note(judged), severity="critical", value=share, threshold={"max": gate}))
        rows.sort(key=lambda r: (r["verdict"] != "drift", r["column"]))
        return Section("Column drift", checks=self._record("columns", checks),
                       tables=[frame_html(pd.DataFrame(rows))] if rows else [],
                       note="Effect sizes, not p-values: Wasserstein / reference std (numeric), Jensen-Shannon distance "
                            "base 2 in [0, 1] (categorical), KS D in [0, 1], PSI on reference deciles.")

    def _false_flag_note(self, columns: int) -> str:
        if self.settings.thresholds == "learned":
            return f"; learned thresholds (99th percentile of the null): about {columns * 0.01:.1f} false flags expected across {columns} columns"
        return ""

    def quality_section(self) -> Section:
        checks, rows = [], []
        settings = self.settings
        for name, ref in self.reference.items():
            if name == PREDICTION or ref.kind == "skipped" or name not in self.current_columns:
                continue
            shifts = quality_shifts(ref, self.current[name])
            change = shifts["missing_current"] - shifts["missing_reference"]
            status = "warn" if abs(change) > settings.missing_change else "pass"
            checks.append(Check(f"drift.missing.{name}", f"Missing values in {name}", status,
                                f"missing {shifts['missing_reference']:.1%} in reference, {shifts['missing_current']:.1%} now "
                                f"(change {change:+.1%}; warns beyond ±{settings.missing_change:.0%})",
                                severity="major", value=change))
            row = {"column": name, "missing (ref)": f"{shifts['missing_reference']:.1%}",
                   "missing (now)": f"{shifts['missing_current']:.1%}"}
            if "unseen_share" in shifts:
                share = shifts["unseen_share"]
                checks.append(Check(f"drift.unseen.{name}", f"Unseen categories in {name}",
                                    "warn" if share > settings.unseen_share else "pass",
                                    f"{share:.2%} of current values are categories the reference never had", severity="major",
                                    value=share, threshold={"max": settings.unseen_share}))
                row["unseen categories"] = f"{share:.2%}"
            if "out_of_range_share" in shifts:
                share = shifts["out_of_range_share"]
                checks.append(Check(f"drift.range.{name}", f"Values outside the reference range in {name}",
                                    "warn" if share > settings.out_of_range_share else "pass",
                                    f"{share:.2%} of current values lie outside the reference range "
                                    f"[{fmt(ref.ref_minimum)}, {fmt(ref.ref_maximum)}]", severity="major",
                                    value=share, threshold={"max": settings.out_of_range_share}))
                row["outside range"] = f"{share:.2%}"
            rows.append(row)
        return Section("Data quality shifts", checks=self._record("quality", checks),
                       tables=[frame_html(pd.DataFrame(rows))] if rows else [],
                       note="Missing values, unseen categories and out-of-range values are signals of their own; "
                            "they are never silently dropped.")

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
            drift = score >= METHODS[method].threshold
            checks.append(Check("drift.prediction.distribution", "Prediction distribution", "warn" if drift else "pass",
                                f"{METHODS[method].title} of the model's scores {fmt(score)} (KS {fmt(scores['ks'])})",
                                severity="critical", value=score))
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
                                f"{METHODS[method].title} of the labels {fmt(score)} (threshold {fmt(self.thresholds[self.target])})",
                                severity="major", value=score))
        return Section("Prediction and target drift", checks=self._record("prediction", checks))

    def multivariate_section(self) -> Section:
        reference_rows = self.reference_frame if self.reference_frame is not None else self.reference_sample
        if not self.settings.multivariate or reference_rows is None:
            reason = "disabled" if not self.settings.multivariate else "needs the reference data, not a profile"
            return Section("Multivariate drift", checks=self._record("multivariate", [
                Check("drift.multivariate", "Domain classifier", "skip", reason)]))
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split

        columns = [n for n, p in self.reference.items() if p.kind != "skipped" and n in self.current_columns
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
            elif self.reference[column].kind == "datetime":
                encoded[:, j] = pd.to_datetime(both[column]).astype("int64")
            else:
                encoded[:, j] = pd.to_numeric(both[column], errors="coerce")
        label = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
        X_train, X_test, y_train, y_test = train_test_split(encoded, label, test_size=0.3, random_state=self.settings.seed,
                                                            stratify=label)
        model = HistGradientBoostingClassifier(max_iter=50, max_depth=3, categorical_features=np.array(categorical),
                                               random_state=self.settings.seed).fit(X_train, y_train)
        auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
        score = max(2 * auc - 1, 0.0)
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
        separating = ("separating most (AUC lost when the column is shuffled): "
                      + ", ".join(f"{c} (−{fmt(d)})" for c, d in top)) if top else \
            "no single column separates them (shuffling any one costs < 0.001 AUC)"
        status = "warn" if score >= self.settings.multivariate_threshold else "pass"
        checks = [Check("drift.multivariate", "Domain classifier (reference vs current)", status,
                        f"2·AUC − 1 = {fmt(score)} (AUC {fmt(auc)} on held-out rows; 0 = indistinguishable, 1 = fully "
                        f"separable); {separating}", severity="major", value=score,
                        threshold={"max": self.settings.multivariate_threshold},
                        details={"auc": float(auc), "auc_lost_when_shuffled": {c: float(d) for c, d in drops.items()}})]
        return Section("Multivariate drift", checks=self._record("multivariate", checks))

    def scores_figure(self):
        from readiness.plots import drift_scores_figure

        return drift_scores_figure(self)

    def distributions_figure(self):
        from readiness.plots import drift_distributions_figure

        return drift_distributions_figure(self)

    def finish(self, results_path: str) -> Section:
        reference = {"path": str(self.reference_path), "sha256": self._file_hashes["reference"].result(),
                     "rows": next(iter(self.reference.values())).n if self.reference else 0}
        current = {"path": str(self.current_path), "sha256": self._file_hashes["current"].result(),
                   "rows": next(iter(self.current.values())).n if self.current else 0}
        document = report_document(REPORT, self.checks, {"reference": reference, "current": current},
                                   self.started_at, time.perf_counter() - self._clock,
                                   parameters={"settings": self.settings.model_dump(mode="json")})
        write_json(results_path, document)
        return Section.verdict(document)
