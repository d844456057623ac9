"""Confine the current process before it touches an untrusted model: the model worker's walls.

A model artifact that the user has not trusted by hash is loaded and used only in
a separate worker process (:mod:`readiness.artifacts.worker`) that first calls
:func:`confine`. Its layers, each applied where the platform offers it:

* **Landlock** (Linux 5.13+, unprivileged): the filesystem becomes read-only and
  readable only beneath the Python installation, the system libraries and the
  artifact itself; nothing may be created, written, truncated, removed or
  executed. With ABI 4+ TCP bind/connect are denied; with ABI 6+ signals and
  abstract UNIX sockets cannot reach processes outside the worker.
* **seccomp** (Linux, x86-64 and aarch64): a filter denies creating sockets,
  running programs, forking (threads stay allowed), tracing or writing other
  processes' memory, signalling other processes, and kernel administration calls.
* **Resource limits**: address space, file size (no byte can be written to any file).
* **A Python audit hook**: denies opening files for writing, removing or renaming
  them, running programs, sockets, and ````exec``/``eval`` outside the import system,
  recording each attempt so it can be reported.

Landlock and seccomp hold against native code too (a memory-corruption exploit in
compiled library code); the audit hook is the layer that names what was attempted.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys
from pathlib import Path
from typing import Iterable

#: What the audit hook saw and denied (kept for the report).
VIOLATIONS: list[str] = []
_ACTIVE = False

# --------------------------------------------------------------------------- audit hook

_DENIED_EVENTS = {
    "os.system", "subprocess.Popen", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "pty.spawn",
    "os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown", "os.link", "os.symlink",
    "os.truncate", "os.utime", "os.kill", "os.killpg", "os.startfile", "os.putenv", "os.unsetenv",
    "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree", "shutil.move", "shutil.rmtree",
    "shutil.chown", "shutil.make_archive", "shutil.unpack_archive",
    "socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
    "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg", "socket.socketpair",
    "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect", "webbrowser.open",
    "sqlite3.connect", "sys.setprofile", "sys.settrace", "sys.addaudithook",
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _in_import_machinery() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _deny(event: str, args) -> None:
    detail = ", ".join(repr(a)[:120] for a in args[:2]) if isinstance(args, tuple) else ""
    VIOLATIONS.append(f"{event}({detail})")
    raise PermissionError(f"readiness's sandbox denied {event}({detail})")


def _audit(event: str, args) -> None:
    if not _ACTIVE:
        return
    if event in _DENIED_EVENTS:
        _deny(event, args)
    elif event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writing and str(path) != os.devnull:
            _deny(event, args)
    elif event == "exec" and not _in_import_machinery():  # compiling to an AST alone runs nothing
        _deny(event, args)


def _install_audit_hook() -> None:
    global _ACTIVE
    if not getattr(_install_audit_hook, "installed", False):
        sys.addaudithook(_audit)
        _install_audit_hook.installed = True
    _ACTIVE = True


# --------------------------------------------------------------------------- landlock

_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_FS_READ = (1 << 2) | (1 << 3)  # READ_FILE | READ_DIR
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_PR_SET_NO_NEW_PRIVS = 38


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: unavailable)."""
    if sys.platform != "linux":
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def _landlock(read_paths: Iterable[str | Path]) -> int:
    abi = landlock_abi()
    if abi < 1:
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled_fs = _FS_BY_ABI.get(abi, (1 << 16) - 1)
    handled_net = 0b11 if abi >= 4 else 0
    scoped = 0b11 if abi >= 6 else 0
    attr = struct.pack("<QQQ", handled_fs, handled_net, scoped)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, buffer, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        for path in sorted({str(Path(p)) for p in read_paths if p and Path(p).exists()}):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                access = _FS_READ if os.path.isdir(path) else (1 << 2)
                rule = ctypes.create_string_buffer(struct.pack("<Qi", access, fd), 12)
                libc.syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0))
            finally:
                os.close(fd)
        null_fd = os.open(os.devnull, os.O_PATH | os.O_CLOEXEC)
        try:  # /dev/null stays writable: libraries print to it
            rights = (1 << 1) | (1 << 2) | ((1 << 14) if abi >= 3 else 0)
            rule = ctypes.create_string_buffer(struct.pack("<Qi", rights, null_fd), 12)
            libc.syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0))
        finally:
            os.close(null_fd)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(ruleset)
    return abi


# --------------------------------------------------------------------------- seccomp

_ARCHES = {
    "x86_64": (0xC000003E, {
        "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "sendmsg": 46, "bind": 49, "listen": 50,
        "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62, "ptrace": 101,
        "personality": 135, "pivot_root": 155, "chroot": 161, "mount": 165, "umount2": 166, "reboot": 169,
        "init_module": 175, "tkill": 200, "tgkill": 234, "add_key": 248, "request_key": 249, "keyctl": 250,
        "unshare": 272, "accept4": 288, "perf_event_open": 298, "open_by_handle_at": 304, "setns": 308,
        "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313, "bpf": 321, "execveat": 322,
        "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "clone3": 435,
    }),
    "aarch64": (0xC00000B7, {
        "socket": 198, "socketpair": 199, "bind": 200, "listen": 201, "accept": 202, "connect": 203, "sendto": 206,
        "sendmsg": 211, "clone": 220, "execve": 221, "kill": 129, "tkill": 130, "tgkill": 131, "ptrace": 117,
        "personality": 92, "pivot_root": 41, "chroot": 51, "mount": 40, "umount2": 39, "reboot": 142,
        "init_module": 105, "add_key": 217, "request_key": 218, "keyctl": 219, "unshare": 97, "accept4": 242,
        "perf_event_open": 241, "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "finit_module": 273, "bpf": 280, "execveat": 281, "userfaultfd": 282,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "clone3": 435,
    }),
}
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_EPERM, _ENOSYS = 1, 38
_CLONE_THREAD = 0x00010000


def _seccomp() -> bool:
    machine = platform.machine()
    if sys.platform != "linux" or machine not in _ARCHES:
        return False
    arch, numbers = _ARCHES[machine]
    own_pid = os.getpid()

    def stmt(code, k):
        return struct.pack("<HBBI", code, 0, 0, k)

    def jump(code, k, jt, jf):
        return struct.pack("<HBBI", code, jt, jf, k)

    LD, JEQ, JSET, JGE, RET = 0x20, 0x15, 0x45, 0x35, 0x06
    deny = stmt(RET, _RET_ERRNO | _EPERM)
    allow = stmt(RET, _RET_ALLOW)
    program = [stmt(LD, 4), jump(JEQ, arch, 1, 0), deny, stmt(LD, 0)]
    if machine == "x86_64":
        program += [jump(JGE, 0x40000000, 0, 1), deny]  # the x32 ABI: a second syscall table
    # clone3 cannot be filtered by flags (they are in memory): ENOSYS makes the C library use clone
    program += [jump(JEQ, numbers["clone3"], 0, 1), stmt(RET, _RET_ERRNO | _ENOSYS)]
    # clone is allowed for threads only
    program += [jump(JEQ, numbers["clone"], 0, 4), stmt(LD, 16), jump(JSET, _CLONE_THREAD, 0, 1), allow, deny]
    # signals only to this process
    for name in ("kill", "tgkill"):
        program += [stmt(LD, 0), jump(JEQ, numbers[name], 0, 4), stmt(LD, 16), jump(JEQ, own_pid, 0, 1), allow, deny]
    program += [stmt(LD, 0)]
    blocked = [n for key, n in numbers.items() if key not in ("clone", "clone3", "kill", "tgkill")]
    for number in blocked:
        program += [jump(JEQ, number, 0, 1), deny]
    program += [allow]
    code = b"".join(program)
    filters = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("<HxxxxxxQ", len(program), ctypes.addressof(filters))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    libc = _libc()
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return libc.prctl(22, 2, fprog_buffer, 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


# --------------------------------------------------------------------------- limits


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _limits(extra_address_bytes: int) -> list[str]:
    try:
        import resource
    except ImportError:
        return []
    applied = []
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    applied.append("no file writes (RLIMIT_FSIZE 0)")
    current = _address_space()
    if current is not None:
        limit = current + extra_address_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        applied.append(f"address space ≤ {limit / 1024**3:.1f} GiB")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return applied


def default_read_paths(extra: Iterable[str | Path] = ()) -> list[str]:
    """Where a confined Python process must read: its installation, libraries, and ``extra``."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             "/usr", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime", "/etc/os-release",
             "/sys/devices/system/cpu", "/sys/fs/cgroup", f"/proc/{os.getpid()}", "/proc/cpuinfo", "/proc/meminfo",
             "/proc/stat"}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    paths.update(str(e) for e in extra)
    return sorted(paths)


def confine(read_paths: Iterable[str | Path], extra_address_bytes: int) -> list[str]:
    """Apply every layer this platform offers to the current process, irreversibly.

    Parameters
    ----------
    read_paths : iterable of path
        Files and folders the process may still read (see :func:`default_read_paths`).
    extra_address_bytes : int
        How much address space the process may add from now on.

    Returns
    -------
    list of str
        The layers applied, for the report.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = "from readiness.artifacts.confine import *; confine(default_read_paths(), 2**31); open('/tmp/x', 'w')"
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True).returncode != 0
    True
    """
    layers = _limits(extra_address_bytes)
    abi = _landlock(read_paths)
    if abi:
        layers.append(f"Landlock ABI {abi}: read-only, only the Python installation, libraries and the artifact"
                      + (", no TCP" if abi >= 4 else "") + (", signals scoped" if abi >= 6 else ""))
    if _seccomp():
        layers.append("seccomp: no sockets, programs, forks, tracing or signals to other processes")
    _install_audit_hook()
    layers.append("audit hook: no file writes, programs, sockets or exec outside imports")
    return layers
