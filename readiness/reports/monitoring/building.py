"""The monitoring report's series: per-chunk statistics turned into series with bands and
changepoints, and the sentences that name a change by its chunk and release.

:class:`SeriesBuilding` is mixed into :class:`~readiness.reports.monitoring.report.MonitoringReport`
(it reads the report's accumulated chunk statistics, settings and reference).

Examples
--------
>>> report = MonitoringReport("predictions.parquet", {"prediction": "score"})  # doctest: +SKIP
>>> report.get("mean_prediction").changepoints[0].index  # doctest: +SKIP
25
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from readiness.reports.monitoring.changepoints import detect_changepoints
from readiness.reports.monitoring.performance import estimated_accuracy, estimated_auc
from readiness.reports.monitoring.sections import QUANTILES
from readiness.reports.monitoring.series import Series, change_sentence, learn_band
from readiness.stats.profile import ColumnProfile, merge_profiles


class SeriesBuilding:
    """Series, chunk names and change sentences of a monitoring report (a mixin).

    Examples
    --------
    >>> report = MonitoringReport(log, {"prediction": "score"})  # doctest: +SKIP
    >>> report.chunk_labels()[:2], report.get("rows").title  # doctest: +SKIP
    (['2017-01-01', '2017-01-02'], 'Rows per chunk')
    """

    def chunk_labels(self) -> list[str]:
        """How each chunk is named in tables and sentences (its start, or its rows)."""
        if self.rule.by_rows:
            labels = []
            for i in range(self.n):
                first = self.acc.first_ns[i]
                when = (f" ({pd.Timestamp(first).strftime('%Y-%m-%d %H:%M')})"
                        if self.columns.timestamp and first != np.iinfo(np.int64).max else "")
                labels.append(f"row {i * self.rule.every:,}{when}")
            return labels
        form = "%Y-%m-%d %H:%M" if self.rule.unit == "h" else "%Y-%m-%d"
        return [pd.Timestamp(t).strftime(form) for t in self.plan.starts()]

    def last_chunk_partial(self) -> bool:
        """Period chunks: does the log end more than a tenth of a period before its last period does?"""
        if self.rule.by_rows or self.n < 2:
            return False
        start, end = (int(t) for t in self.rule.start(self.plan.first_code + np.array([self.n - 1, self.n])).view(np.int64))
        return end - int(self.acc.last_ns[-1]) > (end - start) / 10

    def _build_series(self) -> list[Series]:
        s, acc = self.settings, self.acc
        ref = slice(0, self.k)
        series = []
        rows = acc.rows.astype(float)
        if not self.rule.by_rows:
            note = ""
            if self.last_chunk_partial():
                # a log that ends mid-period has fewer rows in its last chunk: not an outage
                rows = rows.copy()
                rows[-1] = np.nan
                note = "the last chunk is partial (the log ends before its period does) and is left out"
            series.append(Series("rows", "Rows per chunk", rows, critical="rows" in s.critical, relative=True, note=note))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = acc.pred_sum / acc.pred_n
            var = (acc.pred_sq - acc.pred_sum ** 2 / acc.pred_n) / np.maximum(acc.pred_n - 1, 1)
        half = 1.959963984540054 * np.sqrt(np.maximum(var, 0) / acc.pred_n)
        what = "top-class probability" if self.multiclass else "prediction"
        series.append(Series("mean_prediction", f"Mean {what}", mean, mean - half, mean + half,
                             critical="mean_prediction" in s.critical, relative=True))
        quantiles = {q: self.quantiles[:, i] for i, q in enumerate(QUANTILES)}
        for q in QUANTILES:
            series.append(Series(f"prediction_quantile.q{int(q * 100)}", f"{what.capitalize()} {int(q * 100)}th percentile",
                                 quantiles[q], relative=True))
        if self.multiclass:
            series += self._class_series()
        if self.model_mode == "check":
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(self.model_scored > 0, self.model_mismatched / self.model_scored, np.nan)
            series.append(Series("model_agreement", "Logged predictions that differ from the model's", share,
                                 critical="model_agreement" in s.critical, direction="up", unit="%",
                                 margin=s.model_mismatch))
        if self.classifier:
            with np.errstate(invalid="ignore", divide="ignore"):
                positive = acc.positives / acc.pred_n
            series.append(Series("positive_rate", f"Positive rate (score ≥ {s.decision_threshold:g})", positive,
                                 critical="positive_rate" in s.critical, unit="%"))
        series += self._feature_series()
        series += self._performance_series()
        for item in series:
            item.band = learn_band(item.values, ref, s.band_coverage, log=item.log_band, margin=item.margin)
            if item.key == "model_agreement":
                # the logged predictions should be the model's: judged against the allowed share, not the reference
                item.band = (0.0, s.model_mismatch)
            if self.reference_source and item.key.startswith("drift."):
                # drift against a given reference is judged against it, not against the first chunks:
                # up to the drift report's threshold for the method
                item.band = (0.0, item.margin)
            if item.band is not None and (item.unit == "%" or item.log_band):
                item.band = (max(item.band[0], 0.0), item.band[1])  # shares and distances are never negative
            # ratio-like series and distances change multiplicatively: detected on log values
            item.changepoints = detect_changepoints(item.values, s.false_alarm_rate, log=item.relative or item.log_band,
                                                    reference=self.k)
        return series

    def _class_series(self) -> list[Series]:
        """Multiclass: mean probability of each class (critical with the mean prediction) and the share predicted as it."""
        acc, s = self.acc, self.settings
        out = []
        with np.errstate(invalid="ignore", divide="ignore"):
            rows = np.where(acc.pred_n > 0, acc.pred_n, np.nan)[:, None]
            mean, predicted = acc.class_sum / rows, acc.class_predicted / rows
        for j, name in enumerate(self.columns.classes):
            # a mean of probabilities in [0, 1]: its CI from the Bernoulli bound on the variance would be too
            # wide; the per-chunk spread is what the band learns, so no CI is drawn
            out.append(Series(f"mean_probability.{name}", f"Mean probability of {name}", mean[:, j],
                              critical="mean_prediction" in s.critical, relative=True))
        for j, name in enumerate(self.columns.classes):
            out.append(Series(f"predicted_rate.{name}", f"Predicted {name} (share of rows)", predicted[:, j], unit="%"))
        return out

    def _feature_series(self) -> list[Series]:
        from readiness.stats.drift_scores import DEFAULT_METHOD, METHODS

        acc = self.acc
        out = []
        reference_profile = self.reference_profile()
        for j, name in enumerate(self.columns.features):
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(acc.rows > 0, acc.missing[:, j] / acc.rows, np.nan)
            out.append(Series(f"missing.{name}", f"Missing values in {name}", share, direction="up", unit="%",
                              margin=self.settings.missing_change))
            ref = reference_profile.get(name)
            if ref is None or ref.kind == "skipped":
                continue
            method = METHODS[DEFAULT_METHOD[ref.kind]]
            scores = np.full(self.n, np.nan)
            for c, profiles in acc.profiles.items():
                if profiles[name].present:
                    scores[c] = method.compute(ref, profiles[name])
            # the band is learned on log scores (distances are skewed) and never ends below the
            # drift report's threshold for the method: smaller drifts are not worth a warning
            out.append(Series(f"drift.{name}", f"Drift of {name} ({method.symbol})", scores, direction="up",
                              note=method.title, log_band=True, margin=method.threshold))
        return out

    def reference_profile(self) -> dict[str, ColumnProfile]:
        """The profile drift is scored against: the reference chunks binned like every chunk, or the given reference."""
        if self.reference_source:
            return self.fixed
        parts = [self.acc.profiles[c] for c in range(self.k) if c in self.acc.profiles]
        return merge_profiles(parts) if parts else self.fixed

    def _performance_series(self) -> list[Series]:
        s, acc = self.settings, self.acc
        out = []
        if acc.labelled.sum() > 0:
            from readiness.stats.metrics import METRICS

            for position, name in enumerate(self.metric_names):
                metric = METRICS[name]
                values, low, high = self.realized[name]
                out.append(Series(f"performance.{name}", f"{metric.title} (realized)", values, low, high,
                                  critical=position == 0 and "performance" in s.critical,
                                  direction="down" if metric.higher_is_better else "up"))
        if self.classifier:
            accuracy, auc = (np.full(self.n, np.nan) for _ in range(2))
            acc_low, acc_high, auc_low, auc_high = (np.full(self.n, np.nan) for _ in range(4))
            probabilities = (acc.pred_n > 0) & (acc.outside_unit <= 0.001 * acc.pred_n)
            for c in np.flatnonzero(probabilities):
                accuracy[c], acc_low[c], acc_high[c] = estimated_accuracy(acc.exp_tp[c], acc.exp_tn[c], acc.pred_n[c],
                                                                          acc.conf_var[c], s.confidence)
                auc[c], auc_low[c], auc_high[c] = estimated_auc(acc.hist_n[c], acc.hist_p[c], s.confidence,
                                                                seed=s.seed + int(c))
            out.append(Series("estimated.roc_auc", "ROC AUC (estimated without labels)", auc, auc_low, auc_high,
                              direction="down"))
            out.append(Series("estimated.accuracy", "Accuracy (estimated without labels)", accuracy, acc_low, acc_high,
                              direction="down"))
        return out

    def get(self, key: str) -> Series | None:
        return next((item for item in self.series if item.key == key), None)

    def sentences(self, item: Series) -> list[str]:
        labels = self.chunk_labels()
        version = self.columns.version
        return [change_sentence(item, c, labels[c.index], self.lookup, version) for c in item.changepoints]

    def headline(self) -> str:
        """The most important change: of the mean prediction first, else the largest change of any critical series."""
        guardrails = [item for item in self.series if item.key == "mean_prediction" or item.key.startswith("mean_probability.")]
        changes = [(c.size_in_noise, item, c) for item in guardrails for c in item.changepoints]
        if changes:
            _, item, biggest = max(changes, key=lambda entry: entry[0])
            return change_sentence(item, biggest, self.chunk_labels()[biggest.index], self.lookup, self.columns.version)
        changes = [(c.size_in_noise, item, c) for item in self.series if item.critical for c in item.changepoints]
        if changes:
            _, item, change = max(changes, key=lambda entry: entry[0])
            return change_sentence(item, change, self.chunk_labels()[change.index], self.lookup, self.columns.version)
        return "No level change in the mean prediction or the critical series"
