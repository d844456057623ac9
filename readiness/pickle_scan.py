"""Static scan of pickle and joblib files: every global they would import, nothing run.

Known scanners stop at the first raw array buffer of a joblib file (so a payload
placed after the model's arrays passes) and do not decompress compressed joblib
files at all. This scanner walks the whole file the way joblib reads it:

* the file is decompressed first when joblib compressed it (zlib, gzip, bz2, lzma, xz);
* the pickle stream is interpreted by Python's pure-Python unpickler whose
  ``find_class`` records each global and returns an inert stub — nothing named in
  the file is imported or called — except joblib's array wrapper and
  ``numpy.dtype``, the two objects needed to follow joblib's layout;
* after each array wrapper, the raw buffer joblib wrote (alignment padding, then
  ``count × itemsize`` bytes) is skipped, and object arrays' nested pickle streams
  are scanned in turn;
* anything it cannot follow (out-of-band buffers, persistent ids, trailing data,
  truncation) makes the file *unscannable*, which is treated as unsafe.

Every global is then classified: ``allowed`` (the scientific stack: scikit-learn,
numpy, scipy, pandas, joblib's wrappers, safe builtins), ``dangerous`` (os, sys,
subprocess, eval/exec/getattr/open, importlib, runpy, shutil, socket, pickle,
codecs, operator, types, file readers/writers…) or ``unknown`` (anything else, for
example a custom transformer from the user's repository: a hidden dependency).
"""

from __future__ import annotations

import importlib
import io
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------- classification

_DANGEROUS_MODULES = (
    "os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "shutil", "socket", "pickle", "_pickle",
    "codecs", "_codecs", "marshal", "ctypes", "multiprocessing", "pty", "webbrowser", "urllib", "http",
    "requests", "asyncio", "code", "pdb", "types", "operator", "_operator", "io", "_io", "tempfile",
    "pathlib", "glob", "signal", "threading", "_thread", "cloudpickle", "dill", "timeit", "zipimport",
    "pkgutil", "bdb", "trace", "site", "gc", "inspect", "ftplib", "smtplib", "telnetlib", "xmlrpc", "uuid",
)
_DANGEROUS_BUILTINS = {
    "eval", "exec", "compile", "getattr", "setattr", "delattr", "__import__", "open", "globals", "locals",
    "vars", "input", "breakpoint", "help", "exit", "quit", "memoryview", "print", "dir", "super",
    "classmethod", "staticmethod", "property", "type", "apply", "execfile", "reload", "file",
}
_SAFE_BUILTINS = {"set", "frozenset", "slice", "range", "complex", "bytearray", "object", "dict", "list",
                  "tuple", "int", "float", "str", "bytes", "bool", "NotImplemented", "Ellipsis"}
#: Readers and writers inside otherwise allowed packages: calling them touches files.
_DANGEROUS_NAMES = {
    "numpy": {"load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
              "memmap", "fromregex", "DataSource", "tofile"},
    "joblib": {"load", "dump", "Memory", "Parallel", "delayed"},
}
_SAFE_EXACT = {
    ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"),
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "deque"),
    ("collections", "Counter"), ("functools", "partial"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("decimal", "Decimal"), ("fractions", "Fraction"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__randomstate_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random._pcg64", "PCG64DXSM"), ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._philox", "Philox"), ("numpy.random._sfc64", "SFC64"),
    ("numpy.random._generator", "Generator"), ("numpy.random.mtrand", "RandomState"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"), ("joblib.numpy_pickle", "NDArrayWrapper"),
    ("pandas._libs.internals", "_unpickle_block"), ("pandas.core.internals.blocks", "new_block"),
    ("pandas.core.indexes.base", "_new_Index"), ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"), ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas.core.arrays.categorical", "_new_Categorical"),
}
_CLASS_PACKAGES = ("sklearn", "scipy", "pandas", "lightgbm", "xgboost", "catboost", "imblearn")
_BLOCKED_SUBMODULES = ("sklearn.datasets", "sklearn.utils._testing", "pandas.io", "scipy.io", "scipy.misc")
REASONS = {
    "os": "runs operating-system commands", "posix": "runs operating-system commands",
    "nt": "runs operating-system commands", "subprocess": "runs programs", "sys": "reaches the interpreter",
    "builtins": "evaluates code or opens files", "importlib": "imports arbitrary modules",
    "runpy": "runs modules", "shutil": "changes files", "socket": "opens network connections",
    "pickle": "unpickles more data", "codecs": "decodes hidden payloads", "operator": "calls arbitrary methods",
    "types": "builds code objects",
}


def classify(module: str, name: str) -> str:
    """``allowed``, ``dangerous`` or ``unknown`` for the global ``module.name``."""
    root = module.split(".")[0]
    if module in ("builtins", "__builtin__"):
        if name in _SAFE_BUILTINS:
            return "allowed"
        return "dangerous" if name in _DANGEROUS_BUILTINS else "unknown"
    if root in _DANGEROUS_MODULES or module in _DANGEROUS_MODULES:
        return "dangerous"
    if (module, name) in _SAFE_EXACT:
        return "allowed"
    if name in _DANGEROUS_NAMES.get(root, ()) or "." in name or name.startswith("__"):
        return "dangerous"
    if module.startswith(_BLOCKED_SUBMODULES):
        return "dangerous"
    if root == "numpy":
        return "allowed" if _is_numpy_value_type(module, name) else "unknown"
    if root == "sklearn":
        return "allowed"  # estimators, their internals and metric functions; readers are blocked above
    if root in _CLASS_PACKAGES:
        if name[:1].isupper() or (root == "scipy" and _is_ufunc(module, name)):
            return "allowed"
        return "unknown"
    return "unknown"


def _is_numpy_value_type(module: str, name: str) -> bool:
    """numpy ufuncs (np.log1p in a FunctionTransformer), scalar types and dtype classes."""
    import numpy as np

    try:
        value = getattr(importlib.import_module(module), name)  # numpy is ours: importing it runs no file content
    except (ImportError, AttributeError):
        return False
    return isinstance(value, np.ufunc) or (isinstance(value, type) and issubclass(value, (np.generic, np.dtype)))


def _is_ufunc(module: str, name: str) -> bool:
    import numpy as np

    try:
        return isinstance(getattr(importlib.import_module(module), name), np.ufunc)
    except (ImportError, AttributeError):
        return False


# --------------------------------------------------------------------------- the walk


class Unscannable(Exception):
    """The file cannot be followed to its end: treat it as unsafe."""


class _Stub:
    """What every global becomes during the scan: accepts anything, does nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass

    def __reduce__(self):  # pragma: no cover - never pickled
        raise TypeError("stub")


def _stub_class(module: str, name: str) -> type:
    return type(f"stub:{module}.{name}", (_Stub,), {})


class _Latin1Encode:
    """Protocol 2 stores bytes as ``_codecs.encode(text, 'latin1')``: benign, and only that is."""

    def __init__(self, result: "ScanResult"):
        self.result = result

    def __call__(self, *args, **kwargs):
        if (len(args) == 2 and not kwargs and isinstance(args[0], str)
                and str(args[1]).lower().replace("-", "") == "latin1"):
            return args[0].encode("latin-1")
        self.result.codec_tricks = True
        return _Stub()


@dataclass
class ScanResult:
    path: str
    compression: str | None
    globals: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unscannable: str | None = None
    codec_tricks: bool = False  # a _codecs call other than protocol 2's latin-1 bytes encoding
    streams: int = 0
    arrays: int = 0
    bytes_scanned: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not (self.dangerous or self.unknown or self.unscannable)

    def summary(self) -> str:
        if self.unscannable:
            return f"could not be scanned completely ({self.unscannable})"
        parts = [f"{len(self.globals)} globals in {self.streams} pickle stream(s), {self.arrays} raw array buffer(s) skipped"]
        if self.dangerous:
            parts.append("dangerous: " + ", ".join(self.dangerous))
        if self.unknown:
            parts.append("not in the scientific-stack allowlist: " + ", ".join(self.unknown))
        if self.clean:
            parts.append("all from the scientific stack")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


def _make_unpickler(handle, seen: list[tuple[str, str]], result: ScanResult):
    import joblib.numpy_pickle as jnp
    import numpy as np

    real = {("joblib.numpy_pickle", "NumpyArrayWrapper"): jnp.NumpyArrayWrapper,
            ("joblib.numpy_pickle", "NDArrayWrapper"): jnp.NDArrayWrapper,
            ("numpy", "dtype"): np.dtype}

    class ScanningUnpickler(pickle._Unpickler):  # the pure-Python machine: every opcode visible
        def __init__(self, file):
            super().__init__(file)
            self.scan_handle = file  # joblib reads raw buffers from the file itself, after the current frame

        def find_class(self, module, name):
            seen.append((module, name))
            if (module, name) == ("_codecs", "encode"):
                return _Latin1Encode(result)
            return real.get((module, name)) or _stub_class(module, name)

        def persistent_load(self, pid):
            raise Unscannable("the pickle uses persistent ids")

        def load_build(self):
            super().load_build()
            top = self.stack[-1]
            if isinstance(top, jnp.NumpyArrayWrapper):
                self.stack[-1] = _skip_array(self, top, seen, result)
            elif isinstance(top, jnp.NDArrayWrapper):
                raise Unscannable("joblib < 0.10 array files (NDArrayWrapper) keep arrays in separate files")

        dispatch = dict(pickle._Unpickler.dispatch)
        dispatch[pickle.BUILD[0]] = load_build

    return ScanningUnpickler(handle)


def _skip_array(unpickler, wrapper, seen, result) -> None:
    import numpy as np

    dtype = getattr(wrapper, "dtype", None)
    shape = getattr(wrapper, "shape", None)
    if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise Unscannable("a joblib array wrapper with an unreadable dtype or shape")
    handle = unpickler.scan_handle
    result.arrays += 1
    if dtype.hasobject:  # object arrays are a nested pickle stream: scan it too
        _scan_stream(handle, seen, result)
        return None
    if getattr(wrapper, "numpy_array_alignment_bytes", None) is not None:
        padding = handle.read(1)
        if len(padding) != 1:
            raise Unscannable("truncated before an array buffer")
        _skip(handle, padding[0])
    count = 1
    for dimension in shape:
        count *= dimension
    _skip(handle, count * dtype.itemsize)
    return None


def _skip(handle, size: int) -> None:
    remaining = size
    while remaining:
        chunk = handle.read(min(remaining, 1 << 24))
        if not chunk:
            raise Unscannable("the file ends inside an array buffer")
        remaining -= len(chunk)


def _scan_stream(handle, seen, result) -> None:
    unpickler = _make_unpickler(handle, seen, result)
    try:
        unpickler.load()
    except Unscannable:
        raise
    except RecursionError:
        raise Unscannable("the pickle nests too deeply to follow") from None
    except Exception as exc:
        raise Unscannable(f"not a pickle stream that can be followed ({type(exc).__name__}: {str(exc)[:120]})") from None
    result.streams += 1


_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ": "xz", b"\x5d\x00\x00": "lzma"}


def _open_decompressed(path: Path):
    """The file's pickle bytes as a stream, decompressing joblib's formats."""
    with open(path, "rb") as raw:
        head = raw.read(8)
    if head.startswith(b"ZF"):  # joblib's old zlib format: 'ZF' + length header + zlib stream
        import zlib

        data = path.read_bytes()
        return io.BytesIO(zlib.decompress(data[data.index(b"x", 2):])), "zlib (joblib legacy)"
    if head[:1] == b"\x78" and head[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
        import zlib

        return io.BytesIO(zlib.decompress(path.read_bytes())), "zlib"
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            import bz2
            import gzip
            import lzma

            opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open, "lzma": lzma.open}[kind]
            return opener(path, "rb"), kind
    if head.startswith(b"\x04\x22\x4d\x18"):
        raise Unscannable("lz4-compressed (install lz4 to let joblib read it; readiness cannot scan it)")
    return open(path, "rb"), None


def scan_file(path: str | Path) -> ScanResult:
    """Scan a pickle or joblib file without running it.

    Parameters
    ----------
    path : str or Path
        A ``.pkl``/``.pickle``/``.joblib`` file, compressed or not.

    Returns
    -------
    ScanResult
        Every global the file names, split into dangerous and unknown ones, or why
        the file could not be scanned completely.

    Examples
    --------
    >>> import pickle, tempfile, collections
    >>> path = tempfile.mktemp(suffix=".pkl")
    >>> _ = open(path, "wb").write(pickle.dumps(collections.OrderedDict(a=1)))
    >>> scan_file(path).clean
    True
    """
    path = Path(path)
    started = time.perf_counter()
    result = ScanResult(str(path), None)
    seen: list[tuple[str, str]] = []
    try:
        handle, result.compression = _open_decompressed(path)
        with handle:
            _scan_stream(handle, seen, result)
            rest = handle.read(1)
            if rest:
                raise Unscannable("data after the end of the pickle stream")
            result.bytes_scanned = handle.tell() if hasattr(handle, "tell") else 0
    except Unscannable as exc:
        result.unscannable = str(exc)
    except (OSError, EOFError, ValueError) as exc:
        result.unscannable = f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    names = list(dict.fromkeys(f"{m}.{n}" for m, n in seen))
    result.globals = names
    for module, name in dict.fromkeys(seen):
        if (module, name) == ("_codecs", "encode") and not result.codec_tricks:
            continue  # every call was protocol 2's latin-1 encoding of bytes
        verdict = classify(module, name)
        if verdict == "dangerous":
            reason = REASONS.get(module.split(".")[0]) or ("evaluates code or opens files" if module == "builtins" else "")
            result.dangerous.append(f"{module}.{name}" + (f" ({reason})" if reason else ""))
        elif verdict == "unknown":
            result.unknown.append(f"{module}.{name}")
    result.seconds = time.perf_counter() - started
    return result
