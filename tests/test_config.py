from pathlib import Path

import pytest
import yaml

from readiness.config import Config, GoldenBenchmarkConfig, load_config, parse_config, starter_config_text
from readiness.exceptions import ConfigError

BASE = {"model": "m.skops", "target": "y", "golden": "g.csv"}


@pytest.mark.parametrize(
    "extra,expected",
    [
        ({"golden_benchmrk": {}}, "unknown key 'golden_benchmrk' (did you mean 'golden_benchmark'?)"),
        ({"golden_benchmark": {"n_bootstap": 500}}, "unknown key 'golden_benchmark.n_bootstap' under 'golden_benchmark' (did you mean 'n_bootstrap'?)"),
        ({"golden_benchmark": {"metrics": {"roc_auc": {"mn": 0.8}}}}, "(did you mean 'min'?)"),
        ({"golden_benchmark": {"n_bootstrap": "lots"}}, "golden_benchmark.n_bootstrap: Input should be a valid integer"),
        ({"golden_benchmark": {"n_bootstrap": 5}}, "golden_benchmark.n_bootstrap: Input should be greater than or equal to 100"),
        ({"golden_benchmark": {"metrics": {"auc": {}}}}, "unknown metric 'auc' (did you mean 'roc_auc'?)"),
        ({"golden_benchmark": {"metrics": {"roc_auc": {"min": 0.9, "max": 0.8}}}}, "min (0.9) is above max (0.8)"),
        ({"golden_benchmark": {"consistency": {"mean_prediction_ratio": [1.2, 0.8]}}}, "0 < low <= 1 <= high"),
        ({"golden_benchmark": {"required_segments": ["EU"]}}, "must be written column=value"),
        ({"task": "classification"}, "task: Input should be 'auto', 'binary', 'multiclass' or 'regression'"),
        ({"trust": {"sha256": ["abc"]}}, "trust.sha256: 'abc' is not a sha256 hex digest"),
        ({"segments": ["region", "region"]}, "segments: lists a column twice"),
    ],
)
def test_bad_config_names_the_key_in_one_line(extra, expected):
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, **extra}, source="readiness.yaml")
    message = str(err.value)
    assert expected in message and message.startswith("readiness.yaml: ")
    assert "\n" not in message


def test_each_report_names_the_keys_it_misses(tmp_path):
    from readiness.exceptions import UsageError
    from readiness.run.preflight import default_reports, preflight

    config = parse_config({"model": "m", "golden": "g"}, base_dir=tmp_path)
    with pytest.raises(UsageError, match="nothing to run"):
        default_reports(config)
    with pytest.raises(UsageError, match="golden_benchmark needs 'target'"):
        preflight(config, ["golden_benchmark"])
    with pytest.raises(UsageError, match="drift_report needs 'reference', 'current'"):
        preflight(config, ["drift_report"])
    config = parse_config({"reference": "r.csv", "current": "c.csv", "checklist": "c.yaml"}, base_dir=tmp_path)
    assert default_reports(config) == ["drift_report", "workflow_risk_checklist"]


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "readiness.yaml").write_text(yaml.safe_dump({**BASE, "baseline": "../prod.skops"}))
    config = load_config(folder / "readiness.yaml")
    assert config.model == folder / "m.skops"
    assert config.baseline == tmp_path / "prod.skops"
    assert config.output == folder / "readiness-report"


def test_cli_overrides_win_and_merge_nested_keys(tmp_path):
    (tmp_path / "readiness.yaml").write_text(yaml.safe_dump({**BASE, "golden_benchmark": {"seed": 3, "n_bootstrap": 200}}))
    config = load_config(tmp_path / "readiness.yaml", {"target": "label", "model": "/abs/cand.skops",
                                                      "golden_benchmark": {"seed": 9}})
    assert config.target == "label" and config.model == Path("/abs/cand.skops")
    assert config.golden_benchmark.seed == 9 and config.golden_benchmark.n_bootstrap == 200


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "readiness.yaml"
    path.write_text("model: m\ntarget: [y\n")
    with pytest.raises(ConfigError, match=r"readiness.yaml:\d+: not valid YAML"):
        load_config(path)


def test_missing_config_file_suggests_init(tmp_path):
    with pytest.raises(ConfigError, match="create one with `readiness init`"):
        load_config(tmp_path / "nope.yaml")


def _field_names(model, prefix=""):
    for name, field in model.model_fields.items():
        yield name
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            yield from _field_names(annotation)


def test_starter_config_is_valid_and_documents_every_key(tmp_path):
    text = starter_config_text()
    path = tmp_path / "readiness.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.golden_benchmark.metrics is None  # the defaults follow the model's task
    assert config.golden_benchmark.thresholds_for("binary")["roc_auc"].max_regression == 0.01
    for name in set(_field_names(Config)) | set(GoldenBenchmarkConfig.model_fields):
        assert f"{name}:" in text, f"starter config does not show key {name!r}"
    # every key line is preceded by a comment (the starter explains itself)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line and not line.lstrip().startswith("#") and line.rstrip().endswith(":") and i > 0:
            assert lines[i - 1].lstrip().startswith("#") or lines[i - 1].strip() == "", line
