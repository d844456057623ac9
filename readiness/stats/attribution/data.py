"""Data attribution: reference vs current through one model, or the full split with two models."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from readiness.stats.attribution._common import _as_rows, _choose_output, _columns_used, _frames, _mode, _source_players
from readiness.stats.attribution.decomposition import Attribution, Contribution, DataAttribution
from readiness.stats.attribution.outputs import model_outputs
from readiness.stats.attribution.settings import AttributionSettings, resolve_sources, segment_rows
from readiness.stats.attribution.shapley import (Blocks, Game, Mixer, coupling, interval, per_cluster, pick_pairs,
                                          shapley_coefficients)
from readiness.stats.bootstrap import bootstrap


def data_attribution(
    model: Any,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    task: str,
    sources: Mapping[str, Sequence[str]] | None = None,
    new_model: Any | None = None,
    segments: Sequence[str] | Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    output: int | str | None = None,
    settings: AttributionSettings | Mapping[str, Any] | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    decision_threshold: float = 0.5,
) -> DataAttribution:
    """Split the change in mean prediction from ``reference`` to ``current`` by source.

    With ``new_model`` the old model scores the reference and the new one the
    current data, and the model is a player too: ``E_cur f_new − E_ref f_old =
    model + Σ sources`` exactly (order-free Kitagawa–Oaxaca–Blinder). Background:
    the reference rows (interventional values; a source outside the coalition keeps
    a reference row's values, so dependence *between* sources is not carried over,
    dependence within a source is).

    Parameters
    ----------
    model, new_model : fitted models (scikit-learn API or ModelAdapter)
    reference, current : DataFrame
        Rows with the columns the model(s) read; other columns are left out (all columns are
        players when a model has no feature names).
    task : {"binary", "multiclass", "regression"}
    sources : mapping of source name to columns, optional
        Default: every column its own source.
    segments : list of ``column=value`` keys, or mapping label → (reference rows, current rows)
        Each segment is attributed on its own rows (segment vs the same segment).
    output : class label or index, optional
        Multiclass: the class probability to follow (default: the one that moved most).
    settings : AttributionSettings or its mapping
    n_bootstrap, confidence, seed : the bootstrap (clusters of the coupling resampled)

    Returns
    -------
    DataAttribution

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    >>> cur = ref.assign(a=ref["a"] + 1.0)
    >>> fit = LinearRegression().fit(ref, 2 * ref["a"] + ref["b"])
    >>> result = data_attribution(fit, ref, cur, "regression", n_bootstrap=100)
    >>> round(result.mean_prediction.by_name["a"].value, 6), round(result.mean_prediction.by_name["b"].value, 6)
    (2.0, 0.0)
    """
    settings = AttributionSettings.model_validate(settings or {}) if not isinstance(settings, AttributionSettings) else settings
    _frames(current, reference, "data attribution")
    models = [(model, None)] + ([(new_model, None)] if new_model is not None else [])
    columns = _columns_used(reference, models, "reference")
    _columns_used(current, [(None, columns)], "current")
    resolved = resolve_sources(sources, columns)
    names, groups = list(resolved), list(resolved.values())
    # segments are looked up on every column given (a segment column need not be a model input)
    full_reference, full_current = reference.reset_index(drop=True), current.reset_index(drop=True)
    reference, current = full_reference[columns], full_current[columns]
    old_out = model_outputs(model, task, name="reference", decision_threshold=decision_threshold)
    new_out = old_out if new_model is None else model_outputs(new_model, task, name="new", decision_threshold=decision_threshold)
    two = new_model is not None
    functions = [old_out.predict, new_out.predict] if two else [old_out.predict]
    new_values = [fn(current) for fn in functions]
    old_values = [fn(reference) for fn in functions]
    chosen = _choose_output(old_out, output, old_values[0].mean(axis=0), new_values[-1].mean(axis=0))
    label = old_out.labels[chosen]
    select = lambda outs: outs[0][:, chosen:chosen + 1]  # noqa: E731 — the followed output column
    game = Game(Mixer(current, reference, groups), len(groups), functions,
                 [v[:, chosen:chosen + 1] for v in new_values], [v[:, chosen:chosen + 1] for v in old_values],
                 two, settings.chunk_rows, value_of=select)
    players = _source_players(names, groups, two)
    background = ("reference rows: a source outside the coalition keeps the values of a random reference row "
                  "(interventional Shapley values; model rows mixed by a random coupling)")

    wanted: dict[str, tuple[np.ndarray, np.ndarray]] = {"": (np.arange(len(reference)), np.arange(len(current)))}
    skipped: dict[str, str] = {}
    if segments:
        if isinstance(segments, Mapping):
            wanted.update({str(k): (np.asarray(v[0]), np.asarray(v[1])) for k, v in segments.items()})
        else:
            for key in segments:
                wanted[key] = (segment_rows(full_reference, key, "reference"),
                               segment_rows(full_current, key, "current"))
    results: dict[str, Attribution] = {}
    for position, (key, (ref_rows, cur_rows)) in enumerate(wanted.items()):
        ref_rows, cur_rows = _as_rows(ref_rows, len(reference)), _as_rows(cur_rows, len(current))
        if len(ref_rows) == 0 or len(cur_rows) == 0:
            skipped[key] = f"segment {key} has {len(ref_rows):,} reference and {len(cur_rows):,} current rows"
            continue
        results[key] = _data_game(game, players, ref_rows, cur_rows, settings, n_bootstrap, confidence,
                                  seed + position, f"mean {label}", background, key or None)
    return DataAttribution(label, results.pop(""), results, skipped)


def _data_game(game: Game, players, ref_rows, cur_rows, settings, n_bootstrap, confidence, seed, quantity,
               background, segment) -> Attribution:
    rng = np.random.default_rng(seed)
    design = coupling(len(cur_rows), len(ref_rows), rng)
    design.new_rows, design.old_rows = cur_rows[design.new_rows], ref_rows[design.old_rows]
    k = game.k
    n_pairs = len(design.weight)
    mode = _mode(game, n_pairs, design.n_clusters, settings)
    per_pair = (game.predicted_rows_exact(1) if mode == "exact" else game.predicted_rows_permutation(1)) or 1
    if n_pairs * per_pair <= settings.max_evaluations:
        pairs, clusters = np.arange(n_pairs), None
    else:
        wanted = max(1, min(design.n_clusters, settings.max_evaluations // per_pair))
        clusters, pairs = pick_pairs(design, wanted, rng)
    new_rows, old_rows = design.new_rows[pairs], design.old_rows[pairs]
    end_pair = game.new_values[-1][design.new_rows][:, 0]
    start_pair = game.old_values[0][design.old_rows][:, 0]
    if mode == "exact":
        values = game.exact(new_rows, old_rows)[:, :, 0]  # (L, 2^k)
        phi = values @ shapley_coefficients(k).T
    else:
        phi = game.permutation(new_rows, old_rows, rng)[:, :, 0]
    steps = (game.new_values[-1][new_rows] - game.old_values[0][old_rows])[:, 0]
    redistribution = phi - steps[:, None] / k  # sums to zero over players, pair by pair
    ends = per_cluster(design, np.c_[start_pair, end_pair])
    split_rows = len(cur_rows) != len(ref_rows)  # then a row of the larger side spans two clusters
    blocks = Blocks(design.n_clusters, settings.bootstrap_blocks, seed, neighbours=True, min_size=4 if split_rows else 1)
    end_sums = blocks.sums(ends)
    if clusters is None:
        I_sums = blocks.sums(per_cluster(design, redistribution))
    else:
        I_sums = blocks.sums(redistribution, clusters)

    def statistic(counts: np.ndarray) -> np.ndarray:
        e = Blocks.mean(counts, end_sums)
        i = Blocks.mean(counts, I_sums)
        return np.c_[e, (e[:, 1] - e[:, 0])[:, None] / k + i]

    point = statistic(np.ones((1, blocks.n)))[0]
    samples = bootstrap(blocks.n, {"s": statistic}, n_bootstrap, seed)["s"]
    total_ci, _ = interval(samples[:, 1] - samples[:, 0], confidence)
    contributions = []
    for p, (name, kind, cols) in enumerate(players):
        ci, se = interval(samples[:, 2 + p], confidence)
        contributions.append(Contribution(name, kind, float(point[2 + p]), ci, se, cols))
    predicted = len(pairs) * per_pair
    note = "" if clusters is None else (f"mixed coalitions evaluated on {len(pairs):,} of {n_pairs:,} pairs "
                                        f"(max_evaluations {settings.max_evaluations:,}); their sampling error is in the CIs")
    return Attribution(quantity, float(point[0]), float(point[1]), contributions, total_ci, segment,
                       "exact" if mode == "exact" else "permutation (one random player order per pair)", k,
                       {"reference": len(ref_rows), "current": len(cur_rows)}, len(pairs), predicted, background,
                       confidence, note)
