"""Where a series of chunk values changed level: PELT (ruptures) with a calibrated penalty.

The detector is ruptures' PELT with the least-squares cost (a change in mean), run by
``ruptures.KernelCPD(kernel="linear")``: with a linear kernel the kernel cost *is* the
least-squares cost, and KernelCPD runs PELT in C (about a thousand times faster than
``ruptures.Pelt(model="l2")``, same breakpoints: a test compares them) without building
an n×n Gram matrix (CostRbf's problem). ``jump=1`` (ruptures' default of 5 in ``Pelt``
only allows breakpoints at multiples of 5) and ``min_size=2`` (a level needs two chunks;
a single odd chunk is the band's business).

The series is scaled by a robust estimate of its chunk-to-chunk noise, the median
absolute first difference / (0.6745 √2), which a level shift barely moves. The
penalty is then ``beta(n)`` in units of that noise variance, with ``beta`` calibrated
by simulation (``benchmarks/calibrate_changepoints.py``): on stationary Gaussian series
of ``n`` chunks, scaled by the same estimate, the share of series with any changepoint
at all is the stated false-alarm rate (0.01, 0.05 or 0.1). The table below holds the
calibrated ``beta`` at a grid of lengths; between grid points it is interpolated in
log(n). Autocorrelated or heavy-tailed chunk values raise the real rate; the report
states the assumption.

Measured with the report's settings (``benchmarks/calibrate_changepoints.py``, 2,000
fresh stationary series per cell, the first third of the chunks as reference): at a
stated 5% the share of series with any false changepoint was 1.5–3.6% for 5 to 365
chunks (≤ 0.6% at a stated 1%, ≤ 7.2% at 10%). Power: a 5% rise of the mean prediction
(scores Beta(2, 8)) after 20 chunks is found within one chunk of where it happened,
with three chunks after it, in 99.6% of 500 trials at 5,000 rows per chunk (84% at
2,000 rows, 43% at 1,000).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: beta(n) per false-alarm rate, calibrated by benchmarks/calibrate_changepoints.py (4,000 stationary
#: Gaussian series per length, seed 0): the upper 95% confidence bound of the (1 − rate) quantile of
#: the smallest penalty that leaves no changepoint, rounded up to 0.25.
CALIBRATION_LENGTHS = (4, 6, 8, 10, 12, 16, 24, 32, 48, 64, 128, 256, 512)
CALIBRATED_BETA: dict[float, tuple[float, ...]] = {
    0.01: (61.0, 44.0, 38.0, 34.0, 34.25, 26.0, 20.75, 20.75, 18.0, 16.75, 16.25, 16.0, 14.75),
    0.05: (11.0, 13.75, 14.75, 14.75, 13.75, 12.75, 12.5, 12.5, 11.5, 11.5, 11.5, 11.75, 11.75),
    0.1: (5.75, 7.75, 8.75, 9.75, 9.0, 9.5, 9.5, 9.5, 9.25, 9.75, 10.0, 10.5, 10.75),
}
MIN_SIZE = 2
_PELT_L2 = None
_MAD_TO_SIGMA = 1.0 / (0.6744897501960817 * np.sqrt(2.0))


def pelt_l2():
    """ruptures' compiled PELT for the linear kernel (``ekcpd_pelt_L2``), loaded on its own.

    ``import ruptures`` runs the package's ``__init__``, which imports every detector and
    cost, among them ``scipy.stats`` (1.2 s of CPU, more than the rest of the report on a
    million rows). The compiled kernel needs numpy only, so it is loaded from its file;
    should that fail (another layout of the package), ``ruptures.KernelCPD`` is used.
    The two give the same breakpoints (tested).

    Examples
    --------
    >>> signal = np.ascontiguousarray(np.r_[np.zeros(5), np.full(5, 4.0)].reshape(-1, 1))
    >>> path = pelt_l2()(signal, 1.0, 2)  # penalty 1, segments of at least 2 values
    >>> int(path[10]), int(path[5])  # the last segment starts at 5, the one before it at 0
    (5, 0)
    """
    global _PELT_L2
    if _PELT_L2 is None:
        try:
            import importlib.machinery
            import importlib.util
            from pathlib import Path

            package = importlib.util.find_spec("ruptures")  # finds the package without running it
            folder = Path(package.submodule_search_locations[0]) / "detection" / "_detection"
            binary = next(p for suffix in importlib.machinery.EXTENSION_SUFFIXES for p in folder.glob(f"ekcpd{suffix}"))
            name = "ruptures.detection._detection.ekcpd"
            loader = importlib.machinery.ExtensionFileLoader(name, str(binary))
            module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, binary, loader=loader))
            loader.exec_module(module)
            kernel = module.ekcpd_pelt_L2
        except Exception:  # any other layout: the package's own entry point
            import ruptures

            def kernel(signal, pen, min_size):
                ends = ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1).fit(signal).predict(pen=pen)
                path = np.zeros(signal.shape[0] + 1, dtype=np.int64)
                previous = 0
                for end in ends:
                    path[end] = previous
                    previous = end
                return path
        _PELT_L2 = kernel
    return _PELT_L2


def pelt_breakpoints(signal: np.ndarray, pen: float, min_size: int = MIN_SIZE) -> list[int]:
    """Segment ends (the last is ``len(signal)``), as ``KernelCPD(kernel="linear", jump=1).predict(pen=pen)``.

    Examples
    --------
    >>> pelt_breakpoints(np.r_[np.zeros(10), np.ones(10) * 5] + np.random.default_rng(0).normal(0, 0.1, 20), 10.0)
    [10, 20]
    """
    signal = np.ascontiguousarray(np.asarray(signal, dtype=np.float64).reshape(len(signal), -1))
    path = pelt_l2()(signal, float(pen), int(min_size))
    ends, index = [], signal.shape[0]
    while index > 0:
        ends.append(index)
        index = int(path[index])
    return ends[::-1]


def noise_scale(values: np.ndarray) -> float:
    """Robust chunk-to-chunk noise: median |first difference| / (0.6745 √2).

    A level shift moves one difference only, so it barely moves the median. When more
    than half of the differences are zero (a series with rare exact repeats, e.g. row
    counts of equal row chunks) the mean absolute difference is used instead.

    Examples
    --------
    >>> round(float(noise_scale(np.random.default_rng(0).normal(0, 2, 5000))), 1)
    2.0
    """
    values = np.asarray(values, dtype=float)
    if values.size < 3:
        return float("nan")
    differences = np.abs(np.diff(values))
    scale = float(np.median(differences)) * _MAD_TO_SIGMA
    if scale == 0.0:
        scale = float(np.mean(differences)) * np.sqrt(np.pi) / 2  # mean |N(0, 2σ²)| = 2σ/√π
    return scale


def penalty(n: int, false_alarm_rate: float = 0.05) -> float:
    """Calibrated PELT penalty (in units of the noise variance) for a series of ``n`` chunks.

    Examples
    --------
    >>> penalty(64, 0.05) == CALIBRATED_BETA[0.05][CALIBRATION_LENGTHS.index(64)]
    True
    """
    if false_alarm_rate not in CALIBRATED_BETA:
        raise ValueError(f"false_alarm_rate must be one of {sorted(CALIBRATED_BETA)}")
    table = CALIBRATED_BETA[false_alarm_rate]
    x = np.log(np.clip(n, CALIBRATION_LENGTHS[0], None))
    # Beyond the grid the calibrated penalty barely moves (the robust noise estimate settles);
    # the largest value of the last two lengths is kept, which errs towards fewer alarms.
    if n > CALIBRATION_LENGTHS[-1]:
        return float(max(table[-2:]))
    return float(np.interp(x, np.log(CALIBRATION_LENGTHS), table))


@dataclass(frozen=True)
class Changepoint:
    """A level change: the new level starts at chunk ``index`` (an index into the full series).

    Examples
    --------
    >>> series = np.r_[np.full(20, 0.2), np.full(5, 0.3)] + np.random.default_rng(0).normal(0, 0.005, 25)
    >>> [change] = detect_changepoints(series)
    >>> change.index, round(change.before, 3), round(change.after, 3), round(change.ratio, 2)
    (20, 0.199, 0.302, 1.52)
    """

    index: int
    before: float  # mean of the segment before
    after: float  # mean of the segment from ``index`` on
    size_in_noise: float  # |after − before| / noise scale

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else float("inf")


def detect_changepoints(values, false_alarm_rate: float = 0.05, scale: float | None = None,
                        beta: float | None = None, log: bool = False, reference: int = 0) -> list[Changepoint]:
    """Level changes in a series of chunk values (missing values are skipped).

    Parameters
    ----------
    values : array-like of shape (n,)
        One value per chunk; NaN for chunks without a value.
    false_alarm_rate : {0.01, 0.05, 0.1}
        Share of stationary series with any false changepoint the penalty is calibrated to.
    scale : float, optional
        Noise scale to use instead of the robust estimate.
    beta : float, optional
        Penalty (in noise variances) to use instead of the calibrated one (calibration runs use it).
    log : bool
        Detect on log values when every value is positive: a multiplicative change (a
        unit bug, ×100) then scales the noise with the level, and on the log scale the
        noise before and after is alike. Segment means are reported on the original scale.
    reference : int
        The first ``reference`` chunks are the reference period. The noise scale is then
        the larger of the whole series' and the reference period's robust estimates: a
        stretch of unusually quiet chunks (a positive rate pinned at 100% after a bug)
        cannot shrink the scale and turn ordinary wiggles elsewhere into changepoints.
        Taking the larger can only lower the false-alarm rate below the calibrated one.

    Returns
    -------
    list of Changepoint
        In time order; empty for series shorter than 4 present values or without noise.

    Examples
    --------
    >>> series = np.r_[np.full(20, 1.0), np.full(10, 100.0)] + np.random.default_rng(0).normal(0, 0.01, 30)
    >>> [c.index for c in detect_changepoints(series)]
    [20]
    """
    values = np.asarray(values, dtype=float)
    present = np.flatnonzero(np.isfinite(values))
    signal = values[present]
    if signal.size < 2 * MIN_SIZE:
        return []
    original = signal
    if log and np.all(signal > 0):
        signal = np.log(signal)
    if scale is None:
        scale = noise_scale(signal)
        in_reference = int(np.searchsorted(present, reference))  # present values inside the reference period
        if in_reference >= 3:
            scale = float(np.nanmax([scale, noise_scale(signal[:in_reference])]))
    if not np.isfinite(scale) or scale <= 0:
        if np.ptp(signal) == 0:
            return []
        scale = float(np.ptp(signal)) * 1e-6  # a noiseless series: any change of level is a changepoint
    standardised = (signal - np.median(signal)) / scale
    pen = penalty(signal.size, false_alarm_rate) if beta is None else beta
    ends = pelt_breakpoints(standardised, pen, MIN_SIZE)
    bounds = [0, *(int(e) for e in ends)]
    found = []
    for left, start, right in zip(bounds[:-2], bounds[1:-1], bounds[2:]):
        size = abs(float(np.mean(signal[start:right]) - np.mean(signal[left:start]))) / scale
        before, after = float(np.mean(original[left:start])), float(np.mean(original[start:right]))
        found.append(Changepoint(int(present[start]), before, after, size))
    return found
