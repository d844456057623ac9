"""The built-in reports. Importing this package registers each report's spec.

Each report is a package: ``__init__`` declares its :class:`~readiness.registry.ReportSpec`
(light: the driver reads it), the modules beside it hold the code the notebook runs.
"""

from readiness.registry import registry
from readiness.reports.checklist import SPEC as _CHECKLIST
from readiness.reports.drift import SPEC as _DRIFT
from readiness.reports.golden import SPEC as _GOLDEN
from readiness.reports.monitoring import SPEC as _MONITORING

for _spec in (_GOLDEN, _DRIFT, _CHECKLIST, _MONITORING):
    registry.register(_spec)
