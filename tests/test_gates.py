"""Gate decisions on hand-computed cases."""

import pytest

from readiness.stats.bootstrap import Interval
from readiness.config import MetricThreshold
from readiness.stats.gates import absolute_decision, allowed_margin, change_decision, fmt
from readiness.stats.metrics import METRICS

AUC, LOGLOSS, R2 = METRICS["roc_auc"], METRICS["log_loss"], METRICS["r2"]


def ci(low, high):
    return Interval(low, high, 1000)


@pytest.mark.parametrize("value,status", [(0.85, "pass"), (0.8499, "fail"), (0.95, "pass"), (0.9501, "fail")])
def test_absolute_bounds_are_inclusive(value, status):
    decision = absolute_decision(AUC, value, None, MetricThreshold(min=0.85, max=0.95))
    assert decision.status == status
    assert decision.threshold == {"min": 0.85, "max": 0.95}


def test_no_absolute_threshold_means_no_decision():
    assert absolute_decision(AUC, 0.5, None, MetricThreshold(max_regression=0.01)) is None


@pytest.mark.parametrize(
    "delta,status",
    [
        (ci(-0.009, 0.004), "pass"),   # worst case −0.009 is within a 0.01 margin
        (ci(-0.010, 0.004), "pass"),   # exactly at the margin passes (inclusive)
        (ci(-0.030, -0.011), "fail"),  # the whole CI is beyond the margin
        (ci(-0.020, 0.002), "pass"),   # straddles, point estimate (−0.01) within: nothing points to a regression
    ],
)
def test_non_inferiority_on_the_paired_ci(delta, status):
    decision = change_decision(AUC, 0.80, 0.81, delta, MetricThreshold(max_regression=0.01))
    assert decision.status == status
    if delta.high > 0 and delta.low < -0.01:
        assert "resolves changes of about ±0.01100" in decision.message


def test_a_probable_regression_the_golden_set_cannot_prove_warns():
    decision = change_decision(AUC, 0.795, 0.81, ci(-0.026, 0.004), MetricThreshold(max_regression=0.01))
    assert decision.status == "warn" and "probably worse" in decision.message and "±0.01500" in decision.message


def test_lower_is_better_metrics_regress_upwards():
    threshold = MetricThreshold(max_regression=0.02)
    assert change_decision(LOGLOSS, 0.40, 0.35, ci(0.03, 0.07), threshold).status == "fail"
    assert change_decision(LOGLOSS, 0.34, 0.35, ci(-0.02, 0.01), threshold).status == "pass"


def test_relative_margin_uses_the_absolute_baseline_value():
    # R² of a poor baseline is negative: MLflow's signed denominator would flip the test.
    threshold = MetricThreshold(max_relative_regression=0.1)
    margin, source = allowed_margin(threshold, -0.5)
    assert margin == pytest.approx(0.05) and "|-0.5000|" in source
    assert change_decision(R2, -0.52, -0.50, ci(-0.04, -0.01), threshold).status == "pass"
    assert change_decision(R2, -0.60, -0.50, ci(-0.15, -0.06), threshold).status == "fail"


def test_the_stricter_of_two_margins_applies():
    threshold = MetricThreshold(max_regression=0.05, max_relative_regression=0.01)
    margin, source = allowed_margin(threshold, 0.8)
    assert margin == pytest.approx(0.008) and source.startswith("max_relative_regression")


def test_too_good_to_be_true():
    threshold = MetricThreshold(max_improvement=0.05)
    assert change_decision(AUC, 0.95, 0.80, ci(0.12, 0.18), threshold).status == "fail"
    assert change_decision(AUC, 0.86, 0.80, ci(0.03, 0.09), threshold).status == "warn"  # probably too good
    assert change_decision(AUC, 0.84, 0.80, ci(0.02, 0.07), threshold).status == "pass"  # may be, point within
    assert change_decision(AUC, 0.82, 0.80, ci(0.01, 0.03), threshold).status == "pass"
    # relative to the baseline: log loss halved is too good to be true
    relative = MetricThreshold(max_relative_improvement=0.5)
    decision = change_decision(LOGLOSS, 0.10, 0.40, ci(-0.35, -0.25), relative)
    assert decision.status == "fail" and "max_relative_improvement 0.5 × |0.4000| = 0.2000" in decision.message
    assert change_decision(LOGLOSS, 0.36, 0.40, ci(-0.08, 0.0), relative).status == "pass"


def test_undefined_difference_is_skipped_not_passed():
    decision = change_decision(AUC, 0.8, 0.8, ci(float("nan"), float("nan")), MetricThreshold(max_regression=0.01))
    assert decision.status == "skip"


def test_no_change_gate_means_no_decision():
    assert change_decision(AUC, 0.8, 0.7, ci(0, 0.2), MetricThreshold(min=0.5)) is None


@pytest.mark.parametrize("value,text", [(0.1234567, "0.1235"), (318284.2, "318,284"), (-0.0004147, "-0.0004147"),
                                        (2.5e-07, "2.500e-07"), (0, "0"), (float("nan"), "n/a"), (None, "n/a")])
def test_number_formatting(value, text):
    assert fmt(value) == text
