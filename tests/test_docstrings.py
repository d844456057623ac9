"""Every docstring example under readiness/ runs, and the public names still lacking one can only get fewer.

Issue 14 asks for a numpydoc docstring with a short example on every public function and class.
(a) runs every ``>>>`` example of every module with doctest; (b) counts the public top-level
functions and classes (of modules whose path has no part starting with ``_``) whose docstring has no
``Examples`` section with a ``>>>`` line, and holds each module to the allow-list below. When you add an
example, remove the name here; ``python tests/test_docstrings.py`` prints the current list.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import textwrap
from pathlib import Path

import pytest

import readiness

PACKAGE = Path(readiness.__file__).parent
MIGRATIONS = Path("readiness", "history", "migrations", "versions")

# Modules that import an optional extra at module level are skipped when that extra is not installed.
OPTIONAL_EXTRAS = {"pyspark", "onnxruntime", "onnx", "mlflow", "skl2onnx", "lightgbm", "psycopg", "psycopg2"}

# module -> public names still without an Examples section. Only ever remove names from this list
# (`python tests/test_docstrings.py` prints it as it stands).
MISSING_EXAMPLES: dict[str, set[str]] = {
    "readiness.artifacts.loading": {"ModelAdapter", "Scorer", "load_model"},
    "readiness.artifacts.onnx_model": {"OnnxModel"},
    "readiness.cli": {"checks", "cli", "demo", "deployed", "drift", "history", "init", "main", "monitor",
        "profile", "run", "summary"},
    "readiness.config": {"ArtifactChecksConfig", "Config", "ConsistencyConfig", "DriftConfig",
        "GoldenBenchmarkConfig", "HistoryConfig", "LatencyConfig", "MetricThreshold",
        "ReleaseConsistencyConfig", "RobustnessConfig", "TrustConfig", "is_url", "load_config",
        "parse_config", "section_settings", "starter_config_text"},
    "readiness.demo": {"build_scenario", "checklist_parameters", "default_scenario_dir", "demo_parameters",
        "drift_parameters", "ensure_scenario", "make_customers", "monitoring_parameters",
        "scenario_parameters"},
    "readiness.engines.spark": {"check_location", "data_format", "drift_current", "drift_reference",
        "profile_current", "sha256_if_file"},
    "readiness.history": {"release_timeline"},
    "readiness.history.listing": {"format_csv", "format_json", "format_table", "history_source", "list_runs",
        "record_deployment_from_cli"},
    "readiness.history.migrate": {"current_revision", "upgrade"},
    "readiness.history.record": {"previous_run", "record_run", "run_record"},
    "readiness.history.trend": {"DecayResult", "ReleaseTrend", "trend_parameters"},
    "readiness.progress": {"read_new_lines"},
    "readiness.reports.base": {"ShownSections"},
    "readiness.reports.drift": {"parameters", "preflight"},
    "readiness.reports.drift.attribution": {"AttributionOptions", "compute", "data_attribution_figure",
        "data_attribution_section", "sample_rows"},
    "readiness.reports.drift.core": {"iter_batches"},
    "readiness.reports.drift.sections.columns": {"columns_section", "distributions_figure_data",
        "excluded_columns", "false_flag_note", "scores_figure_data", "time_span"},
    "readiness.reports.drift.sections.multivariate": {"multivariate_section", "row_aucs"},
    "readiness.reports.drift.sections.prediction": {"prediction_section"},
    "readiness.reports.drift.sections.quality": {"binomial_variance", "quality_section", "share_status",
        "units_check", "unseen_examples"},
    "readiness.reports.drift.sections.schema": {"schema_section"},
    "readiness.reports.golden": {"parameters", "preflight"},
    "readiness.reports.golden.attribution": {"compute", "guarantee_checks", "release_attribution_figure",
        "release_attribution_section"},
    "readiness.reports.golden.core": {"ModelOutputs", "detect_task", "dummy_outputs", "encode_labels",
        "feature_frame", "model_outputs"},
    "readiness.reports.golden.robustness": {"RobustnessResult", "Trial", "changed_rows", "run_trials",
        "wilson_interval"},
    "readiness.reports.golden.sections.artifact": {"artifact_section", "fresh_process_check",
        "hidden_dependencies", "prediction_checks", "sample_rows"},
    "readiness.reports.golden.sections.consistency": {"consistency_section", "flip_checks",
        "label_mean_interval", "ratio_check", "score_change", "scores_figure_data"},
    "readiness.reports.golden.sections.latency": {"latency_section"},
    "readiness.reports.golden.sections.metrics": {"change_checks", "dummy_check", "leakage_check",
        "metrics_section", "normalised_gain", "performance_figure_data"},
    "readiness.reports.golden.sections.robustness": {"perturbation_check", "robustness_figure_data",
        "robustness_section", "robustness_trials"},
    "readiness.reports.golden.sections.segments": {"required_segment_checks", "segments_figure_data",
        "segments_section"},
    "readiness.reports.monitoring": {"history_releases", "model_path", "parameters", "preflight"},
    "readiness.reports.monitoring.batch": {"batch_of", "read_batches"},
    "readiness.reports.monitoring.changepoints": {"Changepoint", "pelt_l2"},
    "readiness.reports.monitoring.chunks": {"ChunkPart", "LogColumns", "PartSettings", "summarize"},
    "readiness.reports.monitoring.grid": {"ChunkPlan", "plan_chunks", "timestamps_ns"},
    "readiness.reports.monitoring.log": {"LogSource", "Piece", "log_columns", "log_pieces", "prefetch",
        "read_piece"},
    "readiness.reports.monitoring.performance": {"CalibrationVerdict", "MetricValue", "calibration_check"},
    "readiness.reports.monitoring.sections": {"ReportSections"},
    "readiness.reports.monitoring.series": {"Release", "ReleaseLookup", "actionable", "change_sentence",
        "judge"},
    "readiness.reports.monitoring.settings": {"monitoring_spark_rows_message"},
    "readiness.reports.monitoring.simulate": {"simulated_parameters", "write_log_parquet"},
    "readiness.serving.logger": {"LoggerStats"},
    "readiness.stats.intervals": {"Statistic", "choose_method", "estimate_intervals"},
    "readiness.stats.metrics": {"EvalData", "Metric", "metrics_for_task", "perfect_value"},
}


def all_modules() -> list[str]:
    names = ["readiness"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="readiness."):
        names.append(info.name)
    return sorted(names)


def import_or_skip(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in OPTIONAL_EXTRAS:
            pytest.skip(f"{name} needs the optional extra {error.name!r}, not installed")
        raise


@pytest.mark.parametrize("module", all_modules())
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    # Examples use made-up check ids (the catalogue is tests/test_catalogue.py's) and may write
    # relative paths: they run in a temporary folder.
    monkeypatch.delenv("READINESS_STRICT_CHECK_IDS", raising=False)
    monkeypatch.chdir(tmp_path)
    imported = import_or_skip(module)
    result = doctest.testmod(imported, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
                             report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {module} failed (see above)"


def public_module_files() -> dict[str, Path]:
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if any(part.startswith("_") and part != "__init__.py" for part in relative.parts):
            continue
        if MIGRATIONS in relative.parents:  # Alembic revision scripts: run by Alembic, not called by users
            continue
        name = ".".join(relative.with_suffix("").parts)
        files[name.removesuffix(".__init__")] = path
    return files


def has_example(docstring: str | None) -> bool:
    return bool(docstring) and "Examples" in docstring and ">>>" in docstring


def names_lacking_examples() -> tuple[int, dict[str, set[str]]]:
    """(number of public top-level names, module -> the public names without an example)."""
    total, lacking = 0, {}
    for module, path in public_module_files().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                total += 1
                if not has_example(ast.get_docstring(node)):
                    lacking.setdefault(module, set()).add(node.name)
    return total, lacking


def test_public_names_without_examples_only_get_fewer():
    total, lacking = names_lacking_examples()
    missing = sum(len(names) for names in lacking.values())
    print(f"\npublic top-level functions and classes: {total}; with an example: {total - missing}; "
          f"without: {missing} (allow-list: {sum(len(n) for n in MISSING_EXAMPLES.values())})")
    new = {module: sorted(names - MISSING_EXAMPLES.get(module, set())) for module, names in lacking.items()}
    new = {module: names for module, names in new.items() if names}
    assert not new, ("public names without an 'Examples' section in their numpydoc docstring "
                     f"(add a short >>> example): {new}")
    stale = {module: sorted(names - lacking.get(module, set())) for module, names in MISSING_EXAMPLES.items()}
    stale = {module: names for module, names in stale.items() if names}
    assert not stale, f"these names have an example (or are gone) now: remove them from MISSING_EXAMPLES: {stale}"


def allow_list_text(lacking: dict[str, set[str]]) -> str:
    """The MISSING_EXAMPLES literal for ``lacking`` (what ``python tests/test_docstrings.py`` prints)."""
    lines = ["MISSING_EXAMPLES: dict[str, set[str]] = {"]
    for module in sorted(lacking):
        names = ", ".join(f'"{name}"' for name in sorted(lacking[module]))
        wrapped = textwrap.wrap(f'"{module}": {{{names}}},', width=110, initial_indent="    ",
                                subsequent_indent="        ", break_on_hyphens=False)
        lines.extend(wrapped)
    return "\n".join(lines + ["}"])


if __name__ == "__main__":
    print(allow_list_text(names_lacking_examples()[1]))
