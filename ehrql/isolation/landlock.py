"""A thin ctypes layer over Linux's Landlock system calls.

PyPI's `landlock` package (1.0.0.dev5, alpha) only knows the filesystem rights
up to ABI 5: it cannot deny TCP connect/bind (ABI 4 network rules) nor scope
abstract Unix sockets and signals (ABI 6), which this sandbox needs. The
kernel interface is three system calls and two structs, so it is written here
directly against the kernel's UAPI header (linux/landlock.h).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import platform

# System call numbers: the same in the generic table (aarch64) and on x86_64.
_SYSCALLS = {
    "x86_64": (444, 445, 446),
    "aarch64": (444, 445, 446),
}

CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
RULE_NET_PORT = 2
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights (linux/landlock.h), with the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

#: Rights that can be granted on a regular file (the rest only make sense on directories).
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
#: Ordinary files and directories only: no links (which could point ehrql at
#: other files when it reads the result), devices, FIFOs or sockets.
WRITE = (
    FS_WRITE_FILE
    | FS_REMOVE_DIR
    | FS_REMOVE_FILE
    | FS_MAKE_DIR
    | FS_MAKE_REG
    | FS_TRUNCATE
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class LandlockError(OSError):
    """Landlock is missing, disabled, or refused a rule."""


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _call(number: int, *args) -> int:
    result = _libc().syscall(ctypes.c_long(number), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise LandlockError(code, os.strerror(code))
    return result


def _numbers() -> tuple[int, int, int]:
    machine = platform.machine()
    if machine not in _SYSCALLS:
        raise LandlockError(
            errno.ENOSYS, f"Landlock system calls are not known on {machine}"
        )
    return _SYSCALLS[machine]


def abi_version() -> int:
    """The Landlock ABI the running kernel offers; 0 when it has none or it is disabled."""
    try:
        create, _, _ = _numbers()
        return _call(
            create, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION)
        )
    except LandlockError:
        return 0


def fs_rights(abi: int) -> int:
    """Every filesystem right the ABI knows: all of these are denied unless a rule grants them."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


@dataclasses.dataclass(frozen=True)
class Rule:
    """Grant `rights` on `path` and, for a directory, everything beneath it."""

    path: str
    rights: int


@dataclasses.dataclass(frozen=True)
class Restriction:
    """What Landlock enforced: the ABI and whether TCP and scopes were covered."""

    abi: int
    network: bool
    scoped: bool


def restrict_self(rules: list[Rule]) -> Restriction:
    """Deny this process (and any it could start) every filesystem access except
    `rules`, and every TCP bind/connect and cross-domain signal or abstract
    socket where the kernel can. Irreversible. Raises LandlockError if the
    kernel has no Landlock."""
    abi = abi_version()
    if abi < 1:
        raise LandlockError(
            errno.EOPNOTSUPP, "the kernel does not offer Landlock (or it is disabled)"
        )
    create, add_rule, restrict = _numbers()
    handled = fs_rights(abi)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    ruleset = _call(
        create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    try:
        for rule in rules:
            _add_path_rule(add_rule, ruleset, rule, handled)
        if _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            raise LandlockError(
                code, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(code)}"
            )
        _call(restrict, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return Restriction(abi=abi, network=abi >= 4, scoped=abi >= 6)


def _add_path_rule(add_rule: int, ruleset: int, rule: Rule, handled: int) -> None:
    try:
        fd = os.open(rule.path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to grant access to
    try:
        rights = rule.rights & handled
        if not os.path.isdir(rule.path):
            rights &= FILE_RIGHTS
        if not rights:
            return
        beneath = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        _call(
            add_rule,
            ctypes.c_int(ruleset),
            ctypes.c_int(RULE_PATH_BENEATH),
            ctypes.byref(beneath),
            ctypes.c_uint32(0),
        )
    finally:
        os.close(fd)
