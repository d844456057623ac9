"""Release attribution: candidate vs baseline on the same (golden) rows."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from readiness.stats.attribution._common import _as_rows, _choose_output, _columns_used, _frames, _mode, _source_players
from readiness.stats.attribution.decomposition import Attribution, Contribution, ReleaseAttribution
from readiness.stats.attribution.outputs import Outputs, model_outputs
from readiness.stats.attribution.settings import MODEL_PLAYER, AttributionSettings, resolve_sources, segment_rows
from readiness.stats.attribution.shapley import Blocks, Game, Mixer, interval, ratio_mean, shapley_coefficients
from readiness.stats.bootstrap import bootstrap
from readiness.exceptions import InputError


def release_attribution(
    candidate: Any,
    baseline: Any,
    X: pd.DataFrame,
    task: str,
    y: np.ndarray | None = None,
    sources: Mapping[str, Sequence[str]] | None = None,
    segments: Sequence[str] | Mapping[str, np.ndarray] | None = None,
    candidate_columns: Sequence[Any] | None = None,
    baseline_columns: Sequence[Any] | None = None,
    metric: str | None = None,
    output: int | str | None = None,
    settings: AttributionSettings | Mapping[str, Any] | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    decision_threshold: float = 0.5,
) -> ReleaseAttribution:
    """Which sources' features carry the release's change, on the same (golden) rows.

    The game is played on the model difference ``Δ(x) = f_candidate(x) − f_baseline(x)``
    with the rows themselves as background. For a set of rows R (all rows, a segment):
    ``mean_R Δ = model + Σ_sources φ``, where ``model`` is the mean Δ over *all* rows
    and ``φ`` the Shapley values of ``S ↦ mean over x in R, z in all rows of Δ(x_S, z_rest)``.
    Over all rows the sources sum to zero; in a segment they say which source's
    values make the segment's change differ from the average.

    The primary metric (``metric``, labels ``y`` needed) and, for classifiers, the
    flip rate are split with the model as a player too, on mixed predictions
    ``f_baseline(x) + Δ(x_S, z_rest) − [model absent]·mean Δ`` (with mean Δ for no
    source and Δ(x) for all): both ends are exactly the two models' values. These two
    need exact mode.

    Parameters
    ----------
    candidate, baseline : fitted models (scikit-learn API or ModelAdapter)
    X : DataFrame
        The golden rows with every column either model reads.
    task : {"binary", "multiclass", "regression"}
    y : array, optional
        Labels: class indices (0..K−1, in the models' class order) or regression targets.
    sources, segments, output, settings, n_bootstrap, confidence, seed, decision_threshold :
        as in :func:`data_attribution`; ``segments`` are keys ``column=value`` or label → rows.
    candidate_columns, baseline_columns : the columns each model reads (default: its feature names).
    metric : str, optional
        A name from :data:`readiness.stats.metrics.METRICS` (the golden benchmark passes its primary metric).

    Returns
    -------
    ReleaseAttribution

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "north": rng.random(300) < 0.3})
    >>> old = LinearRegression().fit(X, X["a"])
    >>> new = LinearRegression().fit(X, X["a"] + 0.5 * X["north"])
    >>> result = release_attribution(new, old, X, "regression", segments={"north": X["north"].to_numpy()},
    ...                              n_bootstrap=100)
    >>> round(result.segments["north"].by_name["north"].value, 2)
    0.35
    """
    from readiness.stats.metrics import METRICS

    settings = AttributionSettings.model_validate(settings or {}) if not isinstance(settings, AttributionSettings) else settings
    _frames(X, X, "release attribution")
    X = X.reset_index(drop=True)
    if metric is not None and metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    if y is not None and len(y) != len(X):
        raise InputError(f"{len(y):,} labels for {len(X):,} golden rows; give one label per row")
    used = _columns_used(X, [(candidate, candidate_columns), (baseline, baseline_columns)], "golden")
    resolved = resolve_sources(sources, used)
    names, groups = list(resolved), list(resolved.values())
    cand = model_outputs(candidate, task, candidate_columns, "candidate", decision_threshold)
    base = model_outputs(baseline, task, baseline_columns, "baseline", decision_threshold)
    frame = X[used]
    f1, f0 = cand.predict(frame), base.predict(frame)
    if f1.shape != f0.shape:
        raise InputError(f"the candidate gives {f1.shape[1]} output(s) per row and the baseline {f0.shape[1]}; "
                         "they must predict the same classes")
    n, G = len(X), len(groups)
    chosen = _choose_output(cand, output, f0.mean(axis=0), f1.mean(axis=0))
    label, full_chosen = cand.labels[chosen], chosen
    # The metric and flip-rate games keep every output column of every coalition; with many
    # classes only the followed column is kept (memory stays within ~0.5 GB).
    keep_all = f1.shape[1] * settings.max_evaluations <= 64_000_000
    if not keep_all:
        f0, f1, chosen = f0[:, chosen:chosen + 1], f1[:, chosen:chosen + 1], 0
    delta = f1 - f0
    mixer = Mixer(frame, frame, groups)
    difference = (lambda outs: outs[1] - outs[0]) if keep_all else (  # noqa: E731 — Δ on mixed rows
        lambda outs: outs[1][:, [full_chosen]] - outs[0][:, [full_chosen]])
    game = Game(mixer, G, [base.predict, cand.predict], [delta], [delta], False, settings.chunk_rows, difference)
    rng = np.random.default_rng(seed)
    partner = rng.permutation(n)
    mode = _mode(game, n, n, settings)
    per_pair = (game.predicted_rows_exact(1) if mode == "exact" else game.predicted_rows_permutation(1)) or 1
    evaluated = np.arange(n) if n * per_pair <= settings.max_evaluations else np.sort(
        rng.choice(n, size=max(1, min(n, settings.max_evaluations // per_pair)), replace=False))
    values = None
    if mode == "exact":
        values = game.exact(evaluated, partner[evaluated])  # (L, 2^G, K): Δ of every coalition
        phi = np.einsum("lck,pc->lpk", values, shapley_coefficients(G))
    else:
        phi = game.permutation(evaluated, partner[evaluated], rng)
    redistribution = phi - (delta[evaluated] - delta[partner[evaluated]])[:, None, :] / G  # (L, G, K)
    position = np.full(n, -1)
    position[evaluated] = np.arange(len(evaluated))
    is_evaluated = position >= 0

    analyses: dict[str, np.ndarray] = {"": np.arange(n)}
    skipped: dict[str, str] = {}
    if segments:
        if isinstance(segments, Mapping):
            analyses.update({str(k): _as_rows(v, n) for k, v in segments.items()})
        else:
            analyses.update({key: segment_rows(X, key, "golden") for key in segments})
    for key in [k for k, rows in analyses.items() if len(rows) == 0]:
        skipped[key] = f"segment {key} has no rows"
        del analyses[key]

    d = delta[:, chosen]
    blocks = Blocks(n, settings.bootstrap_blocks, seed)
    everywhere_sums = blocks.sums(d)
    statistics: dict[str, Callable] = {}
    for key, rows in analyses.items():
        I_rows = rows[is_evaluated[rows]]
        here_sums = blocks.sums(np.c_[f0[rows, chosen], d[rows]], rows)
        I_sums = blocks.sums(redistribution[position[I_rows], :, chosen], I_rows)

        def statistic(counts, here_sums=here_sums, I_sums=I_sums):
            everywhere = Blocks.mean(counts, everywhere_sums)
            here = Blocks.mean(counts, here_sums)
            i = Blocks.mean(counts, I_sums)
            return np.c_[here, everywhere, (here[:, 1:2] - everywhere) / G + i]

        statistics[key] = statistic

    games: dict[tuple[str, str], Callable] = {}
    if values is not None and not keep_all:
        skipped["metric and flips"] = (f"{len(cand.labels):,} classes: the metric and flip-rate splits would hold every "
                                       "class of every coalition; only the mean of the followed class is split")
    elif values is not None:
        for number, (key, rows) in enumerate(analyses.items()):
            if number > settings.max_metric_segments:
                skipped[f"metric and flips [{key}]"] = (f"only the first {settings.max_metric_segments} segments get "
                                                        "metric and flip-rate splits (max_metric_segments)")
                continue
            subset = position[rows[is_evaluated[rows]]]
            metric_game, flip_game, why = _prediction_games(task, y, metric, cand, base, f0, f1, values, evaluated,
                                                            np.sort(subset), G)
            skipped.update({(f"{reason} [{key}]" if key else reason): text for reason, text in why.items()})
            games.update({(kind, key): game for kind, game in (("metric", metric_game), ("flips", flip_game)) if game})
    elif metric or task != "regression":
        skipped["metric and flips"] = (f"the metric and flip-rate splits need exact mode, which {G} sources do not get "
                                       f"(max_exact_players {settings.max_exact_players}, min_exact_pairs "
                                       f"{settings.min_exact_pairs:,} within max_evaluations {settings.max_evaluations:,})")
    samples = bootstrap(blocks.n, statistics, n_bootstrap, seed)
    if games:  # fewer resamples: a metric costs 2^k evaluations per resample; rows = the evaluated ones
        named = {f"{kind}#{key}": game for (kind, key), game in games.items()}
        samples.update(bootstrap(len(evaluated), named, min(n_bootstrap, settings.metric_resamples), seed))
    ones = np.ones((1, blocks.n))
    background = ("the golden rows: a source outside the coalition takes the values of a random golden row "
                  "(interventional Shapley values of the model difference)")
    method = "exact" if mode == "exact" else "permutation (one random player order per row)"
    note = "" if len(evaluated) == n else (f"mixed coalitions evaluated on {len(evaluated):,} of {n:,} rows "
                                           f"(max_evaluations {settings.max_evaluations:,}); their sampling error is in the CIs")
    common = dict(method=method, players=G + 1, background=background, confidence=confidence, note=note,
                  model_rows_predicted=len(evaluated) * per_pair)
    results: dict[str, Attribution] = {}
    for key, rows in analyses.items():
        point = statistics[key](ones)[0]
        s = samples[key]
        contributions = [Contribution(MODEL_PLAYER, "model", float(point[2]), *interval(s[:, 2], confidence))]
        for g, (name, cols) in enumerate(zip(names, groups)):
            contributions.append(Contribution(name, "source", float(point[3 + g]), *interval(s[:, 3 + g], confidence),
                                              [str(c) for c in cols]))
        total_ci, _ = interval(s[:, 1], confidence)
        results[key] = Attribution(f"mean {label}", float(point[0]), float(point[0] + point[1]), contributions,
                                   total_ci, key or None, rows={"golden": len(rows)},
                                   evaluated_pairs=int(is_evaluated[rows].sum()), **common)
    extra: dict[tuple[str, str], Attribution] = {}
    titles = {"metric": METRICS[metric].title if metric else "", "flips": "flip rate"}
    for (kind, key), game_fn in games.items():
        point = game_fn(np.ones((1, len(evaluated))))[0]
        s = samples[f"{kind}#{key}"]
        contributions = [Contribution(p, role, float(point[2 + j]), *interval(s[:, 2 + j], confidence), cols)
                         for j, (p, role, cols) in enumerate(_source_players(names, groups, True))]
        total_ci, _ = interval(s[:, 1] - s[:, 0], confidence)
        metric_note = note.replace("CIs", "CIs; the metric is computed on those rows") if note else ""
        rows = analyses[key]
        extra[kind, key] = Attribution(titles[kind], float(point[0]), float(point[1]), contributions, total_ci,
                                       key or None, rows={"golden": len(rows), "metric rows": int(is_evaluated[rows].sum())},
                                       evaluated_pairs=int(is_evaluated[rows].sum()),
                                       **{**common, "players": G + 1, "note": metric_note})
    return ReleaseAttribution(
        label, results.pop(""), results, extra.pop(("metric", ""), None), extra.pop(("flips", ""), None), skipped,
        segment_metrics={key: a for (kind, key), a in extra.items() if kind == "metric"},
        segment_flips={key: a for (kind, key), a in extra.items() if kind == "flips"})


def _prediction_games(task, y, metric, cand: Outputs, base: Outputs, f0, f1, values, evaluated, subset, G):
    """The metric and flip-rate games on mixed predictions (players: model + sources).

    ``subset``: positions within ``evaluated`` of the rows the games are played on (a segment).
    """
    from readiness.stats.metrics import METRICS, EvalData

    skipped: dict[str, str] = {}
    rows = evaluated[subset]
    f0e, f1e, values = f0[rows], f1[rows], values[subset]
    mean_delta = (f1 - f0).mean(axis=0)  # the model's change everywhere, as in the mean split
    k = G + 1
    coefficients = shapley_coefficients(k)
    full = 2**G - 1
    if len(rows) == 0:
        return None, None, {"metric and flips": "no evaluated rows"}

    def mixed(mask: int) -> np.ndarray:
        """Mixed prediction of coalition ``mask`` (bit 0 = model) on the evaluated rows."""
        model_in, s = mask & 1, mask >> 1
        if s == 0:
            shift = np.broadcast_to(mean_delta, f0e.shape)
        elif s == full:
            shift = f1e - f0e
        else:
            shift = values[:, s]
        return f0e + shift - (0 if model_in else mean_delta)

    predictions = [mixed(mask) for mask in range(2**k)]
    predictions[0], predictions[-1] = f0e, f1e  # exactly the two models (no rounding from ± mean Δ)

    def eval_data(p: np.ndarray) -> EvalData:
        if task == "regression":
            return EvalData(task, y[rows], p[:, 0])
        classes = base.classes_of(p)
        if task == "binary":
            score = p[:, 0]
            proba = None if base.kind != "proba" else np.c_[1 - np.clip(score, 0, 1), np.clip(score, 0, 1)]
            return EvalData(task, y[rows], classes, proba, score)
        proba = np.clip(p, 0, None)
        proba = proba / np.where(proba.sum(axis=1, keepdims=True) > 0, proba.sum(axis=1, keepdims=True), 1)
        return EvalData(task, y[rows], classes, proba if base.kind == "proba" else None)

    def game_statistic(per_coalition: Callable[[np.ndarray, int], np.ndarray]):
        def statistic(counts: np.ndarray) -> np.ndarray:  # counts over the evaluated rows
            here = counts[:, subset]
            v = np.column_stack([per_coalition(here, mask) for mask in range(2**k)])  # (B, 2^k)
            return np.c_[v[:, 0], v[:, -1], v @ coefficients.T]
        return statistic

    metric_game = None
    if metric is None:
        pass
    elif y is None:
        skipped["metric"] = "no labels given"
    else:
        chosen = METRICS[metric]
        if task not in chosen.tasks:
            skipped["metric"] = f"{chosen.title} does not apply to {task} tasks"
        else:
            y = np.asarray(y)
            data = [eval_data(p) for p in predictions]
            reason = chosen.available(data[-1]) or chosen.available(data[0])
            if reason:
                skipped["metric"] = reason
            else:
                metric_game = game_statistic(lambda w, mask: chosen(w, data[mask]))
    flip_game = None
    if task != "regression":
        baseline_class = base.classes_of(f0e)
        flipped = [(base.classes_of(p) != baseline_class).astype(np.float64) for p in predictions]
        flip_game = game_statistic(lambda w, mask: ratio_mean(w, flipped[mask][:, None], None)[:, 0])
    return metric_game, flip_game, skipped
