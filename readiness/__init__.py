"""readiness: deployment-readiness checks for machine-learning models.

The package supplies every check; the notebook templates in ``notebooks/`` call
it and show the results. ``readiness run`` executes the notebooks with papermill
and renders self-contained HTML reports.
"""

__version__ = "0.1.0"

from readiness.exceptions import InputError, ReadinessError, UsageError  # noqa: E402
from readiness.artifacts.manifest import save_model  # noqa: E402

__all__ = ["__version__", "InputError", "ReadinessError", "UsageError", "save_model"]
