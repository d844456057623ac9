"""The ML Test Score rubric (Breck, Cai, Nielsen, Salib, Sculley, IEEE BigData 2017).

28 tests in four sections. A test run manually, with results documented and
distributed, earns ½ point; one run automatically on a repeated basis earns 1.
Each section is summed, and the final score is the **minimum** of the four
section sums ("all four sections are important"), interpreted with Table V.
Summing all 28 and dividing by 4 is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTIONS = {
    "data": "Features and data",
    "model": "Model development",
    "infra": "ML infrastructure",
    "monitor": "Monitoring",
}

_TITLES = {
    "data": [
        "Feature expectations are captured in a schema",
        "All features are beneficial",
        "No feature's cost is too much",
        "Features adhere to meta-level requirements",
        "The data pipeline has appropriate privacy controls",
        "New features can be added quickly",
        "All input feature code is tested",
    ],
    "model": [
        "Model specs are reviewed and submitted",
        "Offline and online metrics correlate",
        "All hyperparameters have been tuned",
        "The impact of model staleness is known",
        "A simpler model is not better",
        "Model quality is sufficient on all important data slices",
        "The model is tested for considerations of inclusion",
    ],
    "infra": [
        "Training is reproducible",
        "Model specs are unit tested",
        "The full ML pipeline is integration tested",
        "Model quality is validated before serving",
        "The model is debuggable",
        "Models are canaried before serving",
        "Serving models can be rolled back",
    ],
    "monitor": [
        "Dependency changes result in notification",
        "Data invariants hold in training and serving inputs",
        "Training and serving are not skewed",
        "Models are not too stale",
        "Models are numerically stable",
        "Computing performance has not regressed",
        "Prediction quality has not regressed",
    ],
}


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    title: str


ITEMS: dict[str, Item] = {
    f"{section}.{number}": Item(f"{section}.{number}", section, title)
    for section, titles in _TITLES.items()
    for number, title in enumerate(titles, 1)
}

POINTS = {"automated": 1.0, "manual": 0.5, "no": 0.0, "unanswered": 0.0}  # unanswered: not known to be done

#: Table V of the paper: (upper bound inclusive, meaning). 0 is its own band.
BANDS = [
    (0.0, "More of a research project than a productionized system"),
    (1.0, "Not totally untested, but serious holes in reliability are possible"),
    (2.0, "First pass at basic productionization; more investment may be needed"),
    (3.0, "Reasonably tested; more could be automated"),
    (5.0, "Strong automated testing and monitoring, fit for mission-critical systems"),
    (float("inf"), "Exceptional levels of automated testing and monitoring"),
]


def item_points(answer: str) -> float:
    """Points for one answer. ``n/a`` (with a reason) counts as met, so a test that
    cannot apply to this system does not sink its section; reports show it as n/a."""
    return 1.0 if answer == "n/a" else POINTS[answer]


def section_scores(answers: dict[str, str]) -> dict[str, float]:
    """Sum of points per section; items without an answer count as ``no``."""
    scores = {section: 0.0 for section in SECTIONS}
    for item in ITEMS.values():
        scores[item.section] += item_points(answers.get(item.id, "no"))
    return scores


def final_score(answers: dict[str, str]) -> float:
    """The minimum of the four section sums (0 to 7)."""
    return min(section_scores(answers).values())


def band(score: float) -> str:
    """Table V's interpretation of a final score: 0, (0,1], (1,2], (2,3], (3,5], >5."""
    for upper, meaning in BANDS:
        if score <= upper:
            return meaning
    return BANDS[-1][1]  # pragma: no cover
