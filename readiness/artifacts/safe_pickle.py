"""Load pickle and joblib files without running code from them: the loader is the gate.

(Over 400 lines on purpose: this is one security boundary, the unpickler and the rules it
enforces while loading; split, its parts would each look harmless and be audited apart.)

Loading a pickle runs whatever callables the stream names. There is no separate
scan here that models what a loader will do: this module *is* the loader that
readiness uses for every ``.pkl``, ``.pickle``, ``.joblib`` file and MLflow
pickled model that the user has not trusted by hash, and it enforces its rules
while it loads.

* **One unpickler** reads every stream: joblib's own ``NumpyUnpickler`` (the pure-
  Python pickle machine plus joblib's raw array buffers), subclassed. Plain pickles
  load through it too (joblib reads them unchanged), and so do the nested streams
  joblib writes for object arrays.
* **Every global is judged by what it is, as it is resolved** (``find_class``): the
  module must belong to the scientific stack (so nothing else is ever imported);
  the object is looked up and judged by its own defining module and kind, so a
  standard-library callable re-exported under a scikit-learn name is judged as the
  standard-library callable it is. Classes are admitted by family (scikit-learn
  estimators, their fitted internals, numpy arrays/scalars/dtypes/bit generators,
  pandas and scipy.sparse containers, a few builtins); numpy and scipy ufuncs are
  admitted (pure arithmetic); every other function is refused unless enumerated in
  :data:`ALLOWED_FUNCTIONS` (array reconstructors and similar).
* **Only admitted globals can be called.** ``REDUCE``, ``NEWOBJ``, ``INST`` and
  ``OBJ`` call an object only if it was admitted by ``find_class``; an object built
  during loading is never called. ``BUILD`` never sets attributes on a class.
* **Everything the file controls is bounded**: the bytes read (decompressed) and each
  array's declared size against ``max_bytes``, the compression ratio, and, on Linux,
  the address space the process may add while loading.

What is not covered: files trusted by sha256 are loaded by joblib/pickle as they
are (that is what trusting them means); numeric code in compiled extensions is
trusted to handle the admitted objects' states (fitted trees are validated after
loading, see :func:`validate_loaded_trees`).
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import pickle
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Iterator

from readiness.exceptions import first_line

#: Largest number of bytes a pickle may decompress to, and roughly how much memory loading may add.
DEFAULT_MAX_LOAD_BYTES = 4 * 1024**3
#: Beyond this many decompressed bytes, a ratio above MAX_COMPRESSION_RATIO is a bomb, not a model.
RATIO_CHECK_AFTER = 64 * 1024**2
MAX_COMPRESSION_RATIO = 200

#: Top-level modules the unpickler may import at all. Nothing outside is imported, ever.
IMPORTABLE_ROOTS = frozenset({
    "sklearn", "numpy", "scipy", "pandas", "joblib", "lightgbm", "xgboost",
    "builtins", "copyreg", "collections", "datetime", "functools", "_codecs",
})
#: Module path segments never imported or admitted, even inside those packages: test
#: helpers, data-set downloaders, file readers, parallel executors, vendored code.
BLOCKED_SEGMENTS = frozenset({
    "tests", "test", "testing", "_testing", "conftest", "_pytesttester", "datasets", "io", "f2py", "distutils",
    "parallel", "_joblib", "externals", "_show_versions", "computation", "plotting", "_config",
    "_examples", "examples", "_build_utils", "benchmarks", "doc",
})
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

#: Functions that may be called while loading, by defining module and qualified name.
#: Each is resolved and compared by identity: a lookalike is not admitted.
ALLOWED_FUNCTIONS: frozenset[tuple[str, str]] = frozenset({
    # numpy arrays, scalars, masked arrays, random generators
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.ma.core", "_mareconstruct"),
    ("numpy.random._pickle", "__randomstate_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    # pandas containers
    ("pandas._libs.internals", "_unpickle_block"), ("pandas.core.internals.blocks", "new_block"),
    ("pandas.core.indexes.base", "_new_Index"), ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"), ("pandas._libs.tslibs.nattype", "_nat_unpickle"),
    ("pandas.core.arrays.categorical", "_new_Categorical"),
    # pure array functions people put in FunctionTransformer or pooling
    ("numpy", "clip"), ("numpy", "nan_to_num"), ("numpy", "round"), ("numpy", "around"),
    ("numpy", "mean"), ("numpy", "median"), ("numpy", "sum"), ("numpy", "max"), ("numpy", "min"),
    ("numpy", "amax"), ("numpy", "amin"), ("numpy", "std"), ("numpy", "var"),
    # statistics that fitted estimators keep a reference to (feature selection, k-means)
    *(("sklearn.feature_selection._univariate_selection", n)
      for n in ("f_classif", "f_regression", "chi2", "r_regression", "f_oneway")),
    ("sklearn.feature_selection._mutual_info", "mutual_info_classif"),
    ("sklearn.feature_selection._mutual_info", "mutual_info_regression"),
    ("sklearn.cluster._kmeans", "_kmeans_single_lloyd"), ("sklearn.cluster._kmeans", "_kmeans_single_elkan"),
    # scipy's BSpline (SplineTransformer) keeps the array-API asarray it was built with
    ("scipy._lib.array_api_compat.numpy._aliases", "asarray"),
    # HistGradientBoosting's categorical preprocessing: partial(check_array, ...)
    ("sklearn.utils.validation", "check_array"),
})
#: scikit-learn's ``newObj(cls)`` (binary trees, distance metrics) is ``cls.__new__(cls)``: guarded like copyreg.
_NEWOBJ_MODULES = {"sklearn.neighbors._kd_tree", "sklearn.neighbors._ball_tree", "sklearn.neighbors._binary_tree",
                   "sklearn.metrics._dist_metrics"}
#: Functions admitted only through a guard that checks their arguments.
_GUARDED = {("_codecs", "encode"), ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
            ("copyreg", "__newobj_ex__")}
#: Builtin and standard-library classes that hold plain data.
_PLAIN_CLASSES = {
    ("builtins", n) for n in ("object", "set", "frozenset", "slice", "range", "complex", "bytearray", "dict",
                              "list", "tuple", "int", "float", "str", "bytes", "bool")
} | {("collections", n) for n in ("OrderedDict", "defaultdict", "deque", "Counter")} | {
    ("datetime", n) for n in ("datetime", "date", "time", "timedelta", "timezone")
} | {
    ("functools", "partial"),  # its function and arguments are vetted when it is built (see load_build)
}
#: Classes whose constructor reads a file named by its arguments: rebuilt from state only.
_STATE_ONLY = {("lightgbm.basic", "Booster"), ("xgboost.core", "Booster")}


class RefusedArtifact(pickle.UnpicklingError):
    """The stream names or calls something outside the allow-list, or passes a limit."""


class LoadLimitError(RefusedArtifact):
    """A size, ratio or memory limit was hit while loading."""


@dataclass
class LoadRecord:
    """What the loader saw: every global it admitted, with its kind, and what it read."""

    compression: str | None = None
    globals: dict[str, str] = field(default_factory=dict)  # "module.name" -> "class" | "function" | "ufunc"
    bytes_read: int = 0
    arrays: int = 0
    streams: int = 0
    trees_checked: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for kind in self.globals.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        described = ", ".join(f"{count} {kind}{'es' if kind == 'class' and count != 1 else '' if kind == 'class' else 's' if count != 1 else ''}"
                              for kind, count in sorted(kinds.items()))
        return (f"{len(self.globals)} globals admitted by the allow-list ({described or 'none'}), "
                f"{self.arrays} array buffer(s), {self.bytes_read:,} bytes read"
                + (f" after {self.compression} decompression" if self.compression else ""))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- the allow-list


def _base_classes(root: str) -> tuple[type, ...]:
    """Class families admitted in one package (imported only once that package is in play)."""
    bases: list[type] = []

    def add(module: str, *names: str) -> None:
        try:
            imported = importlib.import_module(module)
        except ImportError:
            return
        bases.extend(getattr(imported, name) for name in names if isinstance(getattr(imported, name, None), type))

    if root == "numpy":
        import numpy as np

        bases += [np.ndarray, np.generic, np.dtype]
        add("numpy.random", "BitGenerator", "Generator", "RandomState", "SeedSequence")
    elif root == "sklearn":
        add("sklearn.base", "BaseEstimator")
        add("sklearn.tree._tree", "Tree")
        add("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor")
        add("sklearn._loss.loss", "BaseLoss")
        add("sklearn._loss.link", "BaseLink", "Interval")
        add("sklearn._loss._loss", "CyLossFunction")
        add("sklearn.utils._bunch", "Bunch")
        add("sklearn.neighbors._kd_tree", "KDTree", "KDTree64", "KDTree32")
        add("sklearn.neighbors._ball_tree", "BallTree", "BallTree64", "BallTree32")
        add("sklearn.metrics._dist_metrics", "DistanceMetric", "DistanceMetric64", "DistanceMetric32")
        add("sklearn.gaussian_process.kernels", "Kernel", "Hyperparameter")
        add("sklearn.calibration", "_CalibratedClassifier")
        add("sklearn.compose._column_transformer", "_RemainderColsList")
        add("sklearn.neural_network._stochastic_optimizers", "BaseOptimizer")
        add("sklearn.linear_model._sgd_fast", "LossFunction", "Regression", "Classification")
        add("sklearn.utils._metadata_requests", "MetadataRequest", "MethodMetadataRequest")
        add("sklearn.cluster._birch", "_CFNode", "_CFSubcluster")
        add("sklearn.cluster._bisect_k_means", "_BisectingTree")
    elif root == "scipy":
        add("scipy.sparse", "sparray", "spmatrix")
        add("scipy.sparse._base", "_spbase")
        add("scipy.interpolate", "BSpline")
    elif root == "pandas":
        add("pandas.core.generic", "NDFrame")
        add("pandas", "Index", "Timestamp", "Timedelta", "Period", "Interval")
        add("pandas.api.extensions", "ExtensionArray", "ExtensionDtype")
        add("pandas.core.internals.blocks", "Block")
        add("pandas.core.internals.managers", "BaseBlockManager")
        add("pandas._libs.internals", "BlockPlacement")
        add("pandas._libs.tslibs.offsets", "BaseOffset")
        add("pandas._libs.tslibs.nattype", "NaTType")
    elif root in ("lightgbm", "xgboost"):
        add("sklearn.base", "BaseEstimator")
        add("lightgbm.basic", "Booster") if root == "lightgbm" else add("xgboost.core", "Booster")
    return tuple(bases)


_BASES: dict[str, tuple[type, ...]] = {}
#: Modules whose every class is a fitted model's data holder (the compiled loss functions: one
#: class per loss, no common base).
_DATA_MODULES = {"sklearn._loss._loss", "sklearn._loss.loss", "sklearn._loss.link"}
_EXCLUDED_CLASSES = {("numpy", "memmap"), ("numpy._core.memmap", "memmap")}


def _judge_class(cls: type) -> str | None:
    """None when admitted, else why not."""
    module = getattr(cls, "__module__", None) or ""
    qualname = getattr(cls, "__qualname__", "")
    if (module, qualname) in _PLAIN_CLASSES:
        return None
    root = module.split(".")[0]
    if root not in IMPORTABLE_ROOTS or root in ("builtins", "copyreg", "collections", "datetime",
                                                "functools", "_codecs", "joblib"):
        return f"really {module or '?'}.{qualname}, a class outside the allow-list"
    if BLOCKED_SEGMENTS.intersection(module.split(".")):
        return f"really {module}.{qualname}, a class from a module the allow-list excludes"
    import numpy as np

    if issubclass(cls, np.memmap):
        return f"really {module}.{qualname}, a numpy.memmap, which maps files"
    if module in _DATA_MODULES:
        return None
    if root not in _BASES:
        _BASES[root] = _base_classes(root)
    if issubclass(cls, _BASES[root]):
        return None
    return f"really {module}.{qualname}, a {root} class that is not an estimator or one of their fitted internals"


def _allowed_function(obj: Any) -> bool:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return False
    key = (module, qualname)
    if key not in ALLOWED_FUNCTIONS and not _is_cython_unpickler(module, qualname):
        return False
    try:  # identity: the enumerated function itself, not a lookalike carrying its name
        return getattr(sys.modules[module], qualname) is obj
    except (KeyError, AttributeError):
        return False


def _is_cython_unpickler(module: str, qualname: str) -> bool:
    """Cython's ``__pyx_unpickle_<Class>`` rebuilds an extension type: admitted with its class."""
    if not qualname.startswith("__pyx_unpickle_"):
        return False
    owner = getattr(sys.modules.get(module), qualname[len("__pyx_unpickle_"):], None)
    return isinstance(owner, type) and _judge_class(owner) is None


def judge(obj: Any) -> tuple[str | None, str]:
    """Judge a resolved global by what it is.

    Returns
    -------
    reason : str or None
        None when admitted, else why it is refused.
    kind : str
        ``class``, ``ufunc``, ``function`` or ``object``.

    Examples
    --------
    >>> import operator, numpy
    >>> judge(operator.attrgetter)[0] is None
    False
    >>> judge(numpy.log1p)
    (None, 'ufunc')
    """
    import numpy as np

    if isinstance(obj, type):
        return _judge_class(obj), "class"
    if isinstance(obj, np.ufunc):
        return None, "ufunc"
    if callable(obj):
        if _allowed_function(obj):
            return None, "function"
        where = getattr(obj, "__module__", None) or "an unknown module"
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
        return f"really {where}.{name}, a callable outside the allow-list", "function"
    return f"a {type(obj).__name__} object, not a class or an allowed function", "object"


def resolve(module: str, name: str) -> Any:
    """Import ``module`` (only within :data:`IMPORTABLE_ROOTS`) and return its attribute ``name``.

    Raises
    ------
    RefusedArtifact
        The module is outside the scientific stack, excluded, missing, or lacks ``name``.
    """
    module = _PY2_MODULES.get(module, module)
    label = f"{module}.{name}"
    if not _MODULE.match(module) or not _IDENTIFIER.match(name):
        raise RefusedArtifact(f"{label[:120]!r}: not a plain module-level name")
    parts = module.split(".")
    if parts[0] not in IMPORTABLE_ROOTS:
        raise RefusedArtifact(f"{label}: module {parts[0]} is outside the scientific stack "
                              "(a hidden dependency, or code that would run on load)")
    if BLOCKED_SEGMENTS.intersection(parts[1:]) or name in BLOCKED_SEGMENTS:
        raise RefusedArtifact(f"{label}: module {module} is excluded from the allow-list")
    try:
        imported = sys.modules.get(module) or importlib.import_module(module)
        return getattr(imported, name)
    except (ImportError, AttributeError):
        raise RefusedArtifact(f"{label}: not found in this environment (a different library version?)") from None
    except Exception as exc:  # a module's own __getattr__ may raise anything
        raise RefusedArtifact(f"{label}: could not be resolved ({type(exc).__name__})") from None


# --------------------------------------------------------------------------- guards


def _guard_latin1_encode(text, encoding=None, *rest):
    """Protocol 2 writes bytes as ``_codecs.encode(text, 'latin1')``: only that is allowed."""
    if rest or not isinstance(text, str) or str(encoding).lower().replace("-", "") != "latin1":
        raise RefusedArtifact("_codecs.encode called for something other than protocol 2's latin-1 bytes")
    return text.encode("latin-1")


class _Guards:
    """copyreg's reconstructors, admitted only for classes the allow-list admitted."""

    def __init__(self, admitted_classes: set[int]):
        self.admitted = admitted_classes

    def _check(self, cls) -> None:
        if not isinstance(cls, type) or id(cls) not in self.admitted:
            raise RefusedArtifact(f"copyreg was asked to build {type(cls).__name__!r}, which the allow-list did not admit")

    def reconstructor(self, cls, base, state):
        import copyreg

        self._check(cls)
        self._check(base)
        return copyreg._reconstructor(cls, base, state)

    def sklearn_newobj(self, original):
        def newobj(cls):
            self._check(cls)
            return original(cls)

        return newobj

    def newobj(self, cls, *args):
        self._check(cls)
        return cls.__new__(cls, *args)

    def newobj_ex(self, cls, args, kwargs):
        self._check(cls)
        return cls.__new__(cls, *args, **kwargs)


# --------------------------------------------------------------------------- bounded reading


class BoundedReader:
    """A read-only stream that refuses to deliver more than ``max_bytes``.

    ``raw`` is the file on disk; when ``source`` decompresses it, the ratio of bytes
    delivered to compressed bytes consumed is bounded too.
    """

    def __init__(self, source: BinaryIO, max_bytes: int, raw: BinaryIO | None = None, record: LoadRecord | None = None):
        self.source = source
        self.raw = raw
        self.max_bytes = max_bytes
        self.delivered = 0
        self.record = record

    def reserve(self, size: int, what: str) -> None:
        if size < 0 or self.delivered + size > self.max_bytes:
            raise LoadLimitError(
                f"{what} of {size:,} bytes would take the data read past the limit of {self.max_bytes:,} bytes "
                "(trust.max_load_bytes)"
            )

    def _count(self, data: bytes) -> bytes:
        self.delivered += len(data)
        if self.record is not None:
            self.record.bytes_read = self.delivered
        if self.delivered > self.max_bytes:
            raise LoadLimitError(f"the file holds more than {self.max_bytes:,} bytes of data (trust.max_load_bytes)")
        if self.raw is not None and self.delivered > RATIO_CHECK_AFTER:
            consumed = max(self.raw.tell(), 1)
            if self.delivered / consumed > MAX_COMPRESSION_RATIO:
                raise LoadLimitError(
                    f"decompresses more than {MAX_COMPRESSION_RATIO}-fold ({self.delivered:,} bytes from {consumed:,}): "
                    "a decompression bomb, not a model"
                )
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.max_bytes - self.delivered + 1
        else:
            self.reserve(size, "a read")
        return self._count(self.source.read(size))

    def readline(self, size: int = -1) -> bytes:
        limit = self.max_bytes - self.delivered + 1
        return self._count(self.source.readline(limit if size is None or size < 0 else min(size, limit)))

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def peek(self, size: int = 0) -> bytes:  # joblib's compressor detection peeks
        return self.source.peek(size) if hasattr(self.source, "peek") else b""


@contextmanager
def address_space_limit(extra_bytes: int) -> Iterator[None]:
    """Let the process grow by at most ``extra_bytes`` of address space (Linux), then restore.

    A pickle can ask admitted constructors for memory (``bytearray(10**11)``); with this
    limit the request fails at once with ``MemoryError`` instead of exhausting the machine.
    """
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as handle:
            current = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError, AttributeError):
        yield  # not Linux: the byte limits above still hold
        return
    limit = current + extra_bytes
    for existing in (soft, hard):
        if existing != resource.RLIM_INFINITY:
            limit = min(limit, existing)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --------------------------------------------------------------------------- the unpickler


def _unpickler_class():
    """joblib's unpickler with every global vetted and every call checked (built lazily)."""
    import numpy as np
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler
    from joblib.numpy_pickle_compat import NDArrayWrapper

    class SafeArrayWrapper(NumpyArrayWrapper):
        """joblib's array header: sizes checked before reading, object arrays read by the safe unpickler."""

        def read_array(self, unpickler, ensure_native_byte_order):
            shape, dtype = getattr(self, "shape", None), getattr(self, "dtype", None)
            if (not isinstance(dtype, np.dtype) or not isinstance(shape, tuple)
                    or not all(isinstance(s, int) and s >= 0 for s in shape)):
                raise RefusedArtifact("a joblib array header with an invalid shape or dtype")
            count = 1
            for dimension in shape:
                count *= dimension
            unpickler.reader.reserve(count * dtype.itemsize, f"an array of shape {shape} and dtype {dtype}")
            unpickler.record.arrays += 1
            if getattr(self, "subclass", np.ndarray) not in (np.ndarray,) and id(self.subclass) not in unpickler.admitted:
                raise RefusedArtifact("a joblib array of a class the allow-list did not admit")
            if not dtype.hasobject:
                return super().read_array(unpickler, ensure_native_byte_order)
            # an object array is a nested pickle stream: read it with the same rules
            array = unpickler.nested().load()
            if not isinstance(array, np.ndarray):
                raise RefusedArtifact("a joblib object array whose nested stream is not an array")
            unpickler.record.streams += 1
            return array

    class SafeUnpickler(NumpyUnpickler):
        dispatch = NumpyUnpickler.dispatch.copy()

        def __init__(self, file_handle: BoundedReader, record: LoadRecord, admitted: dict[int, Any] | None = None,
                     joblib_arrays: bool = True, shared: dict | None = None):
            super().__init__("", file_handle, ensure_native_byte_order=True)
            self.reader = file_handle
            self.record = record
            self.admitted: dict[int, Any] = {} if admitted is None else admitted  # id -> object (kept alive)
            self.joblib_arrays = joblib_arrays
            self.guards = _Guards(self.admitted)
            shared = shared if shared is not None else {"created": {}, "built": set(), "passed": set(), "keep": []}
            self.shared = shared
            self.created, self.built, self.passed, self.keep = (shared["created"], shared["built"], shared["passed"],
                                                                shared["keep"])

        def nested(self) -> "SafeUnpickler":
            return SafeUnpickler(self.reader, self.record, self.admitted, joblib_arrays=False, shared=self.shared)

        def find_class(self, module, name):
            key = (_PY2_MODULES.get(module, module), name)
            label = f"{key[0]}.{name}"
            if key == ("_codecs", "encode"):
                return self._admit(_guard_latin1_encode, label, "function")
            if key[0] == "copyreg" and key in _GUARDED:
                guard = {"_reconstructor": self.guards.reconstructor, "__newobj__": self.guards.newobj,
                         "__newobj_ex__": self.guards.newobj_ex}[name]
                return self._admit(guard, label, "function")
            obj = resolve(module, name)
            if name == "newObj" and key[0] in _NEWOBJ_MODULES and callable(obj):
                return self._admit(self.guards.sklearn_newobj(obj), label, "function")
            if obj is NumpyArrayWrapper:
                if not self.joblib_arrays:
                    raise RefusedArtifact(f"{label}: a joblib array header inside a nested stream")
                return self._admit(SafeArrayWrapper, label, "class")
            if obj is NDArrayWrapper or name == "ZNDArrayWrapper":
                raise RefusedArtifact(f"{label}: a joblib < 0.10 file that keeps its arrays in separate files; "
                                      "re-save it with a current joblib or readiness.save_model")
            reason, kind = judge(obj)
            if reason is not None:
                raise RefusedArtifact(f"{label}: {reason}")
            return self._admit(obj, label, kind)

        def _admit(self, obj, label: str, kind: str):
            self.admitted[id(obj)] = obj
            self.record.globals.setdefault(label, kind)
            return obj

        def persistent_load(self, pid):
            raise RefusedArtifact("the stream uses persistent ids, which readiness does not resolve")

        def _is_admitted(self, obj) -> bool:
            return self.admitted.get(id(obj)) is obj

        def _callable(self, func, opcode: str, args=()) -> None:
            """Only admitted globals are called, and callables are passed to them only if admitted too
            (numpy's generator constructors, for one, call the constructor they are given)."""
            if not self._is_admitted(func):
                raise RefusedArtifact(f"{opcode} calls a {type(func).__name__} that the stream built itself; "
                                      "only admitted globals may be called")
            if args and isinstance(func, type) and ((getattr(func, "__module__", ""), func.__qualname__) in _STATE_ONLY
                                                    or issubclass(func, np.ndarray)):
                # an array built from arguments can view any buffer as any dtype (object pointers included)
                raise RefusedArtifact(f"{opcode} calls {func.__module__}.{func.__qualname__} with arguments; "
                                      "it may only be rebuilt from its saved state")
            values = args.values() if isinstance(args, dict) else args
            for value in values:
                if callable(value) and not self._is_admitted(value):
                    raise RefusedArtifact(f"{opcode} passes a {type(value).__name__} built by the stream as a callable "
                                          "argument; only admitted globals may be passed")

        def _created(self, obj, args=()):
            """Remember what the stream built (validated after loading) and what it handed to a call."""
            for value in args:
                self.passed.add(id(value))
                self.keep.append(value)
            self.created[id(obj)] = obj
            return obj

        def load_reduce(self):
            stack = self.stack
            args = stack.pop()
            func = stack[-1]
            if not isinstance(args, tuple):
                raise RefusedArtifact("REDUCE with arguments that are not a tuple")
            self._callable(func, "REDUCE", args)
            stack[-1] = self._created(func(*args), args)

        def load_newobj(self):
            args = self.stack.pop()
            cls = self.stack.pop()
            if not isinstance(cls, type):
                raise RefusedArtifact("NEWOBJ on something that is not a class")
            if not isinstance(args, tuple):
                raise RefusedArtifact("NEWOBJ with arguments that are not a tuple")
            self._callable(cls, "NEWOBJ", args)
            self.append(self._created(cls.__new__(cls, *args), args))

        def load_newobj_ex(self):
            kwargs = self.stack.pop()
            args = self.stack.pop()
            cls = self.stack.pop()
            if not isinstance(cls, type):
                raise RefusedArtifact("NEWOBJ_EX on something that is not a class")
            if not isinstance(args, tuple) or not isinstance(kwargs, dict):
                raise RefusedArtifact("NEWOBJ_EX with malformed arguments")
            self._callable(cls, "NEWOBJ_EX", tuple(args) + tuple(kwargs.values()))
            self.append(self._created(cls.__new__(cls, *args, **kwargs), tuple(args) + tuple(kwargs.values())))

        def _instantiate(self, klass, args):
            self._callable(klass, "INST/OBJ", tuple(args))
            super()._instantiate(klass, args)
            self._created(self.stack[-1], tuple(args))

        def load_build(self):
            inst = self.stack[-2] if len(self.stack) >= 2 else None
            if isinstance(inst, type) or type(inst).__name__ == "module":
                raise RefusedArtifact("BUILD would set attributes on a class")
            # state is set once, on an object this stream just built and has not handed to anything:
            # a second __setstate__ frees buffers that views still point to; state on a global patches it
            if self.created.get(id(inst)) is not inst or self._is_admitted(inst):
                raise RefusedArtifact(f"BUILD on a {type(inst).__name__} the stream did not build itself")
            if id(inst) in self.built:
                raise RefusedArtifact(f"BUILD twice on the same {type(inst).__name__}")
            if id(inst) in self.passed:
                raise RefusedArtifact(f"BUILD on a {type(inst).__name__} already handed to another call")
            self.built.add(id(inst))
            if type(inst) is functools.partial:  # its state names the function it will call
                state = self.stack[-1]
                if not isinstance(state, tuple) or len(state) != 4:
                    raise RefusedArtifact("a functools.partial with a malformed state")
                func, args, keywords, _ = state
                self._callable(func, "functools.partial")
                self._callable(func, "functools.partial", tuple(args or ()) + tuple((keywords or {}).values()))
            super().load_build()  # joblib's: replaces array headers by their arrays

        dispatch[pickle.REDUCE[0]] = load_reduce
        dispatch[pickle.NEWOBJ[0]] = load_newobj
        dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
        dispatch[pickle.BUILD[0]] = load_build

    return SafeUnpickler


_UNPICKLER: type | None = None


def _safe_unpickler():
    global _UNPICKLER
    if _UNPICKLER is None:
        _UNPICKLER = _unpickler_class()
    return _UNPICKLER


# --------------------------------------------------------------------------- opening


def _decompressing(handle: BinaryIO) -> tuple[BinaryIO, str | None]:
    """The stream joblib would unpickle from ``handle``, and its compression."""
    from joblib import compressor

    head = handle.read(8)
    handle.seek(0)
    if head.startswith(b"ZF"):
        raise RefusedArtifact("a joblib < 0.10 compressed file ('ZF' format); re-save it with a current joblib "
                              "or readiness.save_model")
    for name, wrapper in compressor._COMPRESSORS.items():
        if head.startswith(wrapper.prefix):
            if name == "zlib" and head[1:2] not in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
                continue
            try:
                return io.BufferedReader(wrapper.decompressor_file(handle), buffer_size=1 << 20), name
            except ValueError as exc:  # e.g. lz4 not installed
                raise RefusedArtifact(f"{name}-compressed and cannot be read here ({exc})") from None
    return handle, None


def load_pickle(handle: BinaryIO, max_bytes: int = DEFAULT_MAX_LOAD_BYTES) -> tuple[Any, LoadRecord]:
    """Load a pickle or joblib stream, refusing anything outside the allow-list.

    Parameters
    ----------
    handle : binary file
        Open at the start of the file (seekable). Compressed joblib files are
        decompressed as joblib would.
    max_bytes : int
        Most bytes the stream may deliver after decompression; also the memory
        loading may add (Linux), plus 1 GiB of headroom.

    Returns
    -------
    obj : object
        What the file holds.
    record : LoadRecord
        Every global admitted, bytes and arrays read, time taken.

    Raises
    ------
    RefusedArtifact
        A global outside the allow-list, a call to something not admitted, a
        malformed stream, or a limit reached (:class:`LoadLimitError`). Nothing
        refused was called.

    Examples
    --------
    >>> import io, pickle, collections
    >>> obj, record = load_pickle(io.BytesIO(pickle.dumps(collections.OrderedDict(a=1))))
    >>> obj, list(record.globals)
    (OrderedDict({'a': 1}), ['collections.OrderedDict'])
    """
    record = LoadRecord()
    started = time.perf_counter()
    stream, record.compression = _decompressing(handle)
    reader = BoundedReader(stream, max_bytes, raw=handle if record.compression else None, record=record)
    unpickler = _safe_unpickler()(reader, record)
    try:
        with address_space_limit(max_bytes + 1024**3):
            obj = unpickler.load()
    except RefusedArtifact:
        raise
    except MemoryError:
        raise LoadLimitError(f"loading needed more memory than the limit of {max_bytes:,} bytes "
                             "(trust.max_load_bytes)") from None
    except RecursionError:
        raise RefusedArtifact("the stream nests too deeply") from None
    except (EOFError, pickle.UnpicklingError) as exc:
        raise RefusedArtifact(f"not a complete pickle stream ({type(exc).__name__}: {first_line(exc)})") from None
    # any other exception comes from rebuilding admitted objects (e.g. another library version's
    # state): not a security refusal, so the caller reports it as a file that could not be loaded
    record.streams += 1
    if stream.read(1):
        raise RefusedArtifact("data after the end of the pickle stream")
    record.trees_checked = validate_loaded(list(unpickler.created.values()))
    record.seconds = time.perf_counter() - started
    return obj, record



# --------------------------------------------------------------------------- after loading


def validate_loaded(objects: list[Any]) -> int:
    """Check the state of every object the stream built that compiled code will trust.

    Compiled code (tree traversal, sparse kernels, neighbour searches, pandas'
    block placement) indexes memory with numbers taken from the object's state. A
    crafted state could point outside an array (reading or writing other memory) or
    back to an ancestor (a loop that never ends). Each family is checked with the
    library's own validation where it has one, else against its invariants.

    Returns
    -------
    int
        Trees checked (the figure the report shows).

    Raises
    ------
    RefusedArtifact
        A state out of range.
    """
    import numpy as np

    checked = 0
    sparse_base = getattr(sys.modules.get("scipy.sparse._base"), "_spbase", None)
    for item in objects:
        kind, module = type(item).__name__, type(item).__module__
        if kind == "Tree" and module == "sklearn.tree._tree":
            _check_tree(item)
            checked += 1
        elif kind == "TreePredictor" and "hist_gradient_boosting" in module:
            _check_tree_predictor(item)
            checked += 1
        elif sparse_base is not None and isinstance(item, sparse_base):
            try:
                item.check_format(full_check=True)
            except Exception as exc:
                raise RefusedArtifact(f"a scipy sparse matrix whose indices are inconsistent ({first_line(exc)})") from None
        elif module.startswith("sklearn.neighbors._") and hasattr(item, "get_arrays"):
            _check_binary_tree(item)
        elif kind in ("BlockManager", "SingleBlockManager") and module.startswith("pandas."):
            _check_block_manager(item)
        state = getattr(item, "__dict__", None)
        if isinstance(state, dict) and "n_features_in_" in state:
            n_features = state["n_features_in_"]
            if type(n_features) is not int and not isinstance(n_features, np.integer) or n_features < 0:
                raise RefusedArtifact(f"a {kind} whose n_features_in_ is {type(n_features).__name__} {n_features!r}, "
                                      "not a count")
            tree = state.get("tree_")
            if tree is not None and type(tree).__name__ == "Tree" and int(tree.n_features) != int(n_features):
                raise RefusedArtifact(f"a {kind} whose tree splits on {tree.n_features} features, not its {n_features}")
            predictors = state.get("_predictors")
            if isinstance(predictors, list):
                for predictor in (p for iteration in predictors for p in iteration):
                    nodes = predictor.nodes
                    features = nodes["feature_idx"][~nodes["is_leaf"].astype(bool)]
                    if np.any(features >= n_features):
                        raise RefusedArtifact("a gradient-boosting tree splits on a feature index outside its features")
    return checked


def validate_loaded_trees(obj: Any) -> int:
    """Validate the trees reachable from ``obj`` (for objects built outside the loader, e.g. in tests)."""
    import numpy as np

    seen: dict[int, Any] = {}
    pending = [obj]
    while pending and len(seen) < 5_000_000:
        item = pending.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, bool, type(None), np.generic)):
            continue
        seen[id(item)] = item
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                pending.extend(item.ravel().tolist())
            continue
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        state = getattr(item, "__dict__", None)
        if isinstance(state, dict):
            pending.extend(state.values())
    return validate_loaded(list(seen.values()))


def _check_tree(tree) -> None:
    import numpy as np

    count = int(tree.node_count)
    left, right, feature = np.asarray(tree.children_left), np.asarray(tree.children_right), np.asarray(tree.feature)
    _check_children(left, right, count, "decision tree")
    internal = left != -1
    if np.any((feature[internal] < 0) | (feature[internal] >= tree.n_features)):
        raise RefusedArtifact("a decision tree splits on a feature index outside its features")
    if np.asarray(tree.value).shape[0] != count:
        raise RefusedArtifact("a decision tree whose values do not match its nodes")


def _check_tree_predictor(predictor) -> None:
    import numpy as np

    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    _check_children(left, right, len(nodes), "gradient-boosting tree")
    categorical = ~leaf & nodes["is_categorical"].astype(bool)
    if np.any(nodes["bitset_idx"][categorical] >= len(predictor.raw_left_cat_bitsets)):
        raise RefusedArtifact("a gradient-boosting tree whose category sets are out of range")


def _check_binary_tree(tree) -> None:
    import numpy as np

    try:
        data, index, nodes, _ = tree.get_arrays()
    except Exception as exc:
        raise RefusedArtifact(f"a neighbours tree whose arrays cannot be read ({first_line(exc)})") from None
    rows = len(np.asarray(data))
    index = np.asarray(index)
    if index.size and (index.min() < 0 or index.max() >= rows):
        raise RefusedArtifact("a neighbours tree whose index points outside its data")
    nodes = np.asarray(nodes)
    if nodes.size and (np.any(nodes["idx_start"] < 0) or np.any(nodes["idx_end"] > len(index))
                       or np.any(nodes["idx_start"] > nodes["idx_end"])):
        raise RefusedArtifact("a neighbours tree whose nodes point outside its index")


def _check_block_manager(manager) -> None:
    import numpy as np

    try:
        items = len(manager.items)
        placed = np.concatenate([np.asarray(block.mgr_locs.as_array) for block in manager.blocks]) \
            if manager.blocks else np.array([], dtype=np.intp)
    except Exception as exc:
        raise RefusedArtifact(f"a pandas container whose blocks cannot be read ({first_line(exc)})") from None
    if placed.size != items or (placed.size and (placed.min() < 0 or placed.max() >= items
                                                 or len(np.unique(placed)) != items)):
        raise RefusedArtifact("a pandas container whose blocks are placed outside its columns")


def _check_children(left, right, count: int, what: str) -> None:
    import numpy as np

    if left.shape != (count,) or right.shape != (count,):
        raise RefusedArtifact(f"a {what} whose node arrays do not match its node count")
    index = np.arange(count)
    for children in (left, right):
        internal = children != -1
        if np.any((children[internal] <= index[internal]) | (children[internal] >= count)):
            raise RefusedArtifact(f"a {what} with a child outside its nodes or before its parent")
