"""A thin ctypes layer over libseccomp, for a deny-list system call filter.

PyPI's `pyseccomp` (0.1.x) is a ctypes binding of the same library, but it
is a young single-author project that would add a dependency every install
has to carry for the five functions used here; calling libseccomp directly
keeps the filter readable in one place and needs nothing beyond the shared
library the distribution ships.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno

ACT_ALLOW = 0x7FFF0000
_CMP_MASKED_EQ = 7
CLONE_THREAD = 0x00010000


def act_errno(code: int) -> int:
    """The action that fails a system call with `code` instead of running it."""
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


class SeccompError(OSError):
    """libseccomp is missing, or the kernel refused the filter."""


@dataclasses.dataclass(frozen=True)
class Deny:
    """Fail `syscall` with `error`; with `unless_flag`, only when argument 0 lacks that bit."""

    syscall: str
    error: int = errno.EPERM
    unless_flag: int | None = None


#: What user code may never do: start programs or processes, reach the
#: network (any socket at all), or look into or tamper with other processes.
DENIED = (
    Deny("execve"),
    Deny("execveat"),
    Deny("fork"),
    Deny("vfork"),
    # Threads are clones that share the process (CLONE_THREAD); anything else is a new process.
    Deny("clone", unless_flag=CLONE_THREAD),
    # clone3 passes its flags in memory the filter cannot read: ENOSYS makes
    # the C library fall back to clone, which is checked above.
    Deny("clone3", error=errno.ENOSYS),
    Deny("socket", error=errno.EACCES),
    Deny("ptrace"),
    Deny("process_vm_readv"),
    Deny("process_vm_writev"),
    Deny("pidfd_getfd"),
    Deny("pidfd_open"),
    Deny("kill"),
    Deny("mount"),
    Deny("umount2"),
    Deny("unshare"),
    Deny("setns"),
    Deny("chroot"),
    Deny("pivot_root"),
    Deny("bpf"),
    Deny("perf_event_open"),
    Deny("userfaultfd"),
    Deny("keyctl"),
    Deny("add_key"),
    Deny("request_key"),
    Deny("io_uring_setup", error=errno.ENOSYS),
    Deny("kexec_load"),
    Deny("init_module"),
    Deny("finit_module"),
)


def _library() -> ctypes.CDLL:
    # By its soname first, as the dynamic loader finds it: find_library runs
    # `ldconfig -p` in a subprocess to arrive at the same name (some 20 ms of
    # every definition loaded), so it is only asked where that fails.
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        from ctypes.util import find_library

        name = find_library("seccomp") or "libseccomp.so.2"
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError as error:
            raise SeccompError(
                errno.ENOENT, f"libseccomp is not installed ({error})"
            ) from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    return lib


def available() -> bool:
    """Whether libseccomp can be loaded here."""
    try:
        _library()
    except SeccompError:
        return False
    return True


def load_filter(denied: tuple[Deny, ...] = DENIED) -> list[str]:
    """Install a filter on this process denying `denied`; everything else is allowed.

    Irreversible, inherited by threads. Returns the names of the system calls
    denied (those this architecture has).
    """
    lib = _library()
    context = lib.seccomp_init(ACT_ALLOW)
    if not context:
        raise SeccompError(errno.ENOMEM, "seccomp_init failed")
    names = []
    try:
        for deny in denied:
            number = lib.seccomp_syscall_resolve_name(deny.syscall.encode())
            if number < 0:
                continue  # not a system call on this architecture
            if deny.unless_flag is None:
                arguments, count = None, 0
            else:
                arguments, count = (
                    (_ArgCmp * 1)(_ArgCmp(0, _CMP_MASKED_EQ, deny.unless_flag, 0)),
                    1,
                )
            result = lib.seccomp_rule_add_array(
                context, act_errno(deny.error), number, count, arguments
            )
            if result < 0:
                raise SeccompError(
                    -result,
                    f"seccomp rule for {deny.syscall}: {errno.errorcode.get(-result, result)}",
                )
            names.append(deny.syscall)
        result = lib.seccomp_load(context)
        if result < 0:
            raise SeccompError(
                -result, f"seccomp_load: {errno.errorcode.get(-result, result)}"
            )
    finally:
        lib.seccomp_release(context)
    return names
