"""checklist.yaml: its schema and a loader whose errors name the line and the key.

Light enough for the driver's pre-flight (pydantic and YAML only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from readiness.exceptions import ConfigError, InputError
from readiness.reports.checklist.mltestscore import ITEMS
from readiness.safe_yaml import load_yaml

Answer = Literal["automated", "manual", "no", "n/a", "unanswered"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExternalSystem(_Strict):
    name: str = Field(min_length=1)
    pinned: bool = False  # a fixed version / schema contract
    notified: bool = False  # someone is told when it changes


class Step(_Strict):
    name: str = Field(min_length=1)
    mode: Literal["automated", "manual"]
    owner: str | None = None
    inputs: list[str] = []
    outputs: list[str] = []
    depends_on: list[ExternalSystem] = []
    tests: list[str] = []
    monitoring: list[str] = []


class RubricAnswer(_Strict):
    answer: Answer
    reason: str | None = None
    note: str | None = None
    evidence: str | None = None

    @field_validator("answer", mode="before")
    @classmethod
    def _yaml_no(cls, value):
        # YAML 1.1 reads an unquoted `no` as false; that is what the user wrote. An empty answer is
        # not a "no": nobody answered yet.
        if value is None or (isinstance(value, str) and not value.strip()):
            return "unanswered"
        return "no" if value is False else value

    @model_validator(mode="after")
    def _na_needs_reason(self):
        if self.answer == "n/a" and not (self.reason and self.reason.strip()):
            raise ValueError("answer n/a needs a reason")
        return self


class Fear(_Strict):
    fear: str = Field(min_length=1)
    severity: int = Field(ge=1, le=10)
    likelihood: int = Field(ge=1, le=10)
    detected_by: list[str] = []


def _known_rubric_items(items):
    """The ML Test Score ids given (a list, or a mapping keyed by id), unchanged if all are known."""
    for item in items:
        if item not in ITEMS:
            raise ValueError(f"unknown ML Test Score item {item!r} (ids are data.1 … monitor.7)")
    return items


class Gate(_Strict):
    min_score: float = Field(1.0, ge=0, le=7)
    must_not_be_no: list[str] = []

    @field_validator("must_not_be_no")
    @classmethod
    def _known(cls, value):
        return _known_rubric_items(value)


class ChecklistFile(_Strict):
    team: str | None = None
    workflow: list[Step] = Field(min_length=1)
    rubric: dict[str, RubricAnswer] = {}
    beyond: dict[str, RubricAnswer] = {}
    fears: list[Fear] = []
    gate: Gate = Gate()

    @field_validator("rubric")
    @classmethod
    def _known_items(cls, value):
        return _known_rubric_items(value)

    @field_validator("beyond")
    @classmethod
    def _known_beyond(cls, value):
        for item in value:
            if item not in BEYOND_SELF_REPORTED:
                raise ValueError(f"unknown item {item!r}; known: {', '.join(BEYOND_SELF_REPORTED)}")
        return value


BEYOND_SELF_REPORTED = {"after_training_period": "Tested on data from after the training period (Rules of ML #33)"}


# --------------------------------------------------------------------------- loading with line numbers


def _line_map(text: str) -> dict[tuple, int]:
    """1-based line of every key/item path in a YAML document."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, path + (key.value,))
                lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                walk(value, path + (index,))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return lines


def load_checklist(path: str | Path) -> ChecklistFile:
    """Read and validate checklist.yaml; errors name the line and the key."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checklist file not found; write a starter with `readiness init`")
    text = path.read_text(encoding="utf-8")
    try:
        data = load_yaml(text)
        lines = _line_map(text)
    except yaml.MarkedYAMLError as exc:
        line = f":{exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({exc.problem}); fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping with workflow:, rubric: and fears:")
    try:
        return ChecklistFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = ".".join(str(p) for p in loc)
        line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
        where = f"{path}:{line}" if line else str(path)
        if error["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}; remove or rename it"
        elif error["type"] == "missing":
            message = "missing required field; add it"
        else:
            message = error["msg"].removeprefix("Value error, ")
            if error.get("input") is not None and not isinstance(error["input"], (dict, list)):
                message += f" (got {error['input']!r})"
        extra = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{where}: {key}: {message}{extra}") from None


