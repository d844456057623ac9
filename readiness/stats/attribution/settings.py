"""Config models for ``sources:`` and ``consistency.segments:``, and how they resolve on data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from readiness.exceptions import InputError

if TYPE_CHECKING:  # pragma: no cover - readiness.config imports this module; pandas loads when data does
    import numpy as np
    import pandas as pd

#: Names the module gives players itself; a configured source may not take them.
MODEL_PLAYER = "model"
UNASSIGNED_SOURCE = "unassigned"
RESERVED_NAMES = (MODEL_PLAYER, UNASSIGNED_SOURCE)
MISSING_VALUE = "(missing)"  # how a missing segment value is written, as in the golden benchmark

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SourcesConfig(RootModel[dict[str, list[str]]]):
    """``sources:`` — which upstream feed each feature column comes from.

    Columns no source lists form one more source, ``unassigned``; without the key,
    every column is its own source.

    Examples
    --------
    >>> SourcesConfig.model_validate({"crm_export": ["tenure_months", "plan"]}).root
    {'crm_export': ['tenure_months', 'plan']}
    """

    @field_validator("root")
    @classmethod
    def _valid(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_sources(value)


def check_sources(value: dict[str, list[str]]) -> dict[str, list[str]]:
    """Raise ValueError when a source is unnamed, reserved or empty, or a column is listed twice.

    Examples
    --------
    >>> check_sources({"crm": ["a"], "feed": ["a"]})
    Traceback (most recent call last):
    ...
    ValueError: column 'a' is listed in both 'crm' and 'feed'; a column comes from one source
    """
    owner: dict[str, str] = {}
    for name, columns in value.items():
        if not name.strip():
            raise ValueError("a source name is empty; name each feed, e.g. crm_export")
        if name in RESERVED_NAMES:
            raise ValueError(f"source name {name!r} is reserved ({', '.join(RESERVED_NAMES)}); rename the source")
        if not columns:
            raise ValueError(f"source {name!r} lists no columns; list its columns or remove it")
        for column in columns:
            if column in owner:
                where = "twice" if owner[column] == name else f"in both {owner[column]!r} and {name!r}"
                raise ValueError(f"column {column!r} is listed {where}; a column comes from one source")
            owner[column] = name
    return value


def check_segment_keys(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """Raise ValueError naming the first key not written ``column=value``.

    Examples
    --------
    >>> check_segment_keys({"north": {}})
    Traceback (most recent call last):
    ...
    ValueError: 'north' must be written column=value, e.g. region=north
    """
    for key in value:
        parse_segment_key(key)
    return value


class SegmentCriterion(_Strict):
    """Release acceptance criteria for one key segment (prediction units, flip share)."""

    max_mean_shift: float | None = Field(None, ge=0)
    max_flip_rate: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _something(self):
        if self.max_mean_shift is None and self.max_flip_rate is None:
            raise ValueError("set max_mean_shift and/or max_flip_rate")
        return self


class SegmentGuarantees(RootModel[dict[str, SegmentCriterion]]):
    """``consistency.segments:`` — keys ``column=value``, each with its criteria.

    Examples
    --------
    >>> SegmentGuarantees.model_validate({"region=north": {"max_mean_shift": 0.02}}).root["region=north"].max_mean_shift
    0.02
    """

    @field_validator("root")
    @classmethod
    def _keys(cls, value: dict[str, SegmentCriterion]) -> dict[str, SegmentCriterion]:
        return check_segment_keys(value)


class AttributionSettings(_Strict):
    """Cost and method of the attribution (CIs follow the report's n_bootstrap/confidence/seed)."""

    enabled: bool = True
    #: model rows predicted for mixed coalitions, in all (the two ends use every row on top).
    max_evaluations: int = Field(250_000, ge=1_000, le=100_000_000)
    #: exact Shapley (2^k coalitions per pair) up to this many players, permutation sampling beyond …
    max_exact_players: int = Field(10, ge=1, le=14)
    #: … and only while the budget covers every pair or at least this many (else the row sample is too thin).
    min_exact_pairs: int = Field(2_000, ge=1)
    #: model rows per predict call (bounds memory).
    chunk_rows: int = Field(200_000, ge=1_000)
    #: bootstrap units grouped at random into at most this many blocks (cost: resamples × blocks).
    bootstrap_blocks: int = Field(20_000, ge=50)
    #: segments (in the order given) that also get metric and flip-rate splits.
    max_metric_segments: int = Field(10, ge=0, le=1000)
    #: resamples for the metric and flip-rate games (each resample evaluates the metric 2^k times).
    metric_resamples: int = Field(200, ge=50, le=100_000)
    #: drift report: rows of each data set attributed (a uniform sample of the stream beyond this).
    max_rows: int = Field(50_000, ge=1_000, le=10_000_000)


def parse_segment_key(key: str) -> tuple[str, str]:
    """Split ``column=value`` at the first ``=``; raise ValueError when it is not of that form.

    Examples
    --------
    >>> parse_segment_key("region=north")
    ('region', 'north')
    """
    if "=" not in key or not key.split("=", 1)[0].strip():
        raise ValueError(f"{key!r} must be written column=value, e.g. region=north")
    column, value = key.split("=", 1)
    return column.strip(), value.strip()


def segment_rows(frame: pd.DataFrame, key: str, source: str = "data") -> np.ndarray:
    """Row positions of ``frame`` in segment ``column=value`` (values compared as text).

    Missing values are the segment ``column=(missing)``, as in the golden benchmark.

    Examples
    --------
    >>> import pandas as pd
    >>> segment_rows(pd.DataFrame({"region": ["north", "south", "north"]}), "region=north")
    array([0, 2])
    """
    import numpy as np

    column, value = parse_segment_key(key)
    if column not in frame.columns:
        raise InputError(f"{source}: segment {key!r} names column {column!r}, which is not in the data; "
                         "fix consistency.segments in readiness.yaml")
    labels = frame[column].astype("string").fillna(MISSING_VALUE).to_numpy(dtype=object)
    return np.flatnonzero(labels == value)


def resolve_sources(sources: Mapping[str, Sequence[str]] | None, columns: Sequence[Any]) -> dict[str, list[Any]]:
    """Players over ``columns`` (the columns the models read): configured sources, then ``unassigned``.

    A source may list columns a given model does not read (one ``sources:`` serves every
    report and model); those are left out, and a source left without columns is not a
    player. Listing none of the columns at all is an error: the config names another data
    set. Without configured sources every column is its own source, named by the column
    (``<name> (column)`` if a column is called ``model`` or ``unassigned``).

    Examples
    --------
    >>> resolve_sources({"crm": ["a", "b"], "feed": ["z"]}, ["a", "b", "c"])
    {'crm': ['a', 'b'], 'unassigned': ['c']}
    >>> resolve_sources(None, ["a", "b"])
    {'a': ['a'], 'b': ['b']}
    """
    columns = list(columns)
    if len(set(map(str, columns))) != len(columns):
        raise InputError("the data has duplicate column names; attribution needs each column once")
    if not sources:
        out: dict[str, list[Any]] = {}
        for column in columns:
            name = str(column)
            while name in RESERVED_NAMES or name in out:
                name = f"{name} (column)"
            out[name] = [column]
        return out
    sources = SourcesConfig.model_validate({str(k): [str(c) for c in v] for k, v in sources.items()}).root
    by_text = {str(c): c for c in columns}
    out = {name: [by_text[c] for c in listed if c in by_text] for name, listed in sources.items()}
    if not any(out.values()):
        listed = [c for cols in sources.values() for c in cols]
        raise InputError(f"sources: none of the listed columns ({', '.join(repr(c) for c in listed[:5])}) is read by "
                         f"the model(s), which read {', '.join(repr(str(c)) for c in columns[:10])}; fix sources in "
                         "readiness.yaml")
    out = {name: cols for name, cols in out.items() if cols}
    listed_all = {c for cols in out.values() for c in cols}
    rest = [c for c in columns if c not in listed_all]
    if rest:
        out[UNASSIGNED_SOURCE] = rest
    return out


def unread_source_columns(sources: Mapping[str, Sequence[str]] | None, columns: Sequence[Any]) -> list[str]:
    """Columns ``sources`` lists that the models do not read (shown, never an error).

    Examples
    --------
    >>> unread_source_columns({"feed": ["a", "z"]}, ["a", "b"])
    ['z']
    """
    known = {str(c) for c in columns}
    return [str(c) for cols in (sources or {}).values() for c in cols if str(c) not in known]
