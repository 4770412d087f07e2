"""What a definition's process may touch, and putting it in that box.

The parent works out the rules (`policy`), because only it knows which paths
hold data the definition must never read; the child applies them
(`apply`) before it runs a line of the definition. Nothing secret travels:
the rules name the paths the child may use, never the database.
"""

from __future__ import annotations

import dataclasses
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path

from ehrql.isolation import landlock, seccomp

#: Shared libraries that extension modules load; read and map, never write.
SYSTEM_LIBRARY_DIRECTORIES = (
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
)
EHRQL_DIRECTORY = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Policy:
    """Landlock rules for the child: `(path, rights)` pairs, everything else denied."""

    rules: tuple[landlock.Rule, ...]

    def to_json(self) -> list:
        return [[rule.path, rule.rights] for rule in self.rules]

    @classmethod
    def from_json(cls, value: list) -> Policy:
        return cls(
            tuple(landlock.Rule(str(path), int(rights)) for path, rights in value)
        )


@dataclasses.dataclass(frozen=True)
class Status:
    """How far the child is boxed in; `reasons` says what could not be applied."""

    filesystem: bool
    network: bool
    processes: bool
    landlock_abi: int
    reasons: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Files, network and processes are all confined."""
        return self.filesystem and self.network and self.processes

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, value: dict) -> Status:
        return cls(
            filesystem=bool(value["filesystem"]),
            network=bool(value["network"]),
            processes=bool(value["processes"]),
            landlock_abi=int(value["landlock_abi"]),
            reasons=tuple(value.get("reasons", ())),
        )


def python_directories() -> list[Path]:
    """Where this Python and its installed packages live."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates.update(p for p in sysconfig.get_paths().values() if p)
    candidates.update(site.getsitepackages())
    directories = sorted({Path(c).resolve() for c in candidates if Path(c).exists()})
    # Keep only the outermost: a rule on a directory covers what lies beneath.
    return [
        d
        for d in directories
        if not any(o != d and o in d.parents for o in directories)
    ]


def policy(
    *,
    study_directories: Sequence[Path],
    temporary_directory: Path,
    protected: Iterable[Path] = (),
    extra_readable: Iterable[Path] = (),
) -> Policy:
    """Read the Python installation, ehrql, the system's shared libraries and
    the study; read and write `temporary_directory`; nothing else. Paths in
    `protected` (a database file or directory) stay unreadable even inside
    the study directory."""
    protected = [Path(p).resolve() for p in protected]
    rules: list[landlock.Rule] = []
    for directory in [
        *python_directories(),
        EHRQL_DIRECTORY,
        *map(Path, SYSTEM_LIBRARY_DIRECTORIES),
    ]:
        if directory.exists() and not any(_overlaps(directory, p) for p in protected):
            rules.append(landlock.Rule(str(directory), landlock.READ))
    rules.append(
        landlock.Rule("/dev/null", landlock.FS_READ_FILE | landlock.FS_WRITE_FILE)
    )
    for directory in [*study_directories, *extra_readable]:
        rules.extend(_readable_tree(Path(directory).resolve(), protected))
    rules.append(
        landlock.Rule(
            str(Path(temporary_directory).resolve()), landlock.READ | landlock.WRITE
        )
    )
    return Policy(tuple(rules))


def _overlaps(directory: Path, protected: Path) -> bool:
    return directory == protected or directory in protected.parents


def _readable_tree(root: Path, protected: list[Path]) -> list[landlock.Rule]:
    """Rules to read `root` and everything beneath it except `protected` paths.

    Landlock only grants, so a protected file inside the tree is left out by
    granting each of its siblings instead of the whole directory; the
    directory itself stays listable, which reveals names, not contents.
    """
    if root in protected:
        return []
    inside = [p for p in protected if root in p.parents]
    if not inside:
        return [landlock.Rule(str(root), landlock.READ)]
    rules = [landlock.Rule(str(root), landlock.FS_READ_DIR)]
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return rules
    for entry in entries:
        if _is_protected_name(entry, inside):
            continue
        if entry.is_dir() and not entry.is_symlink():
            rules.extend(_readable_tree(entry, inside))
        else:
            rules.append(landlock.Rule(str(entry), landlock.READ))
    return rules


def _is_protected_name(entry: Path, protected: list[Path]) -> bool:
    # A DuckDB file comes with its write-ahead log and temporary files beside it.
    for path in protected:
        if entry == path or (
            entry.parent == path.parent and entry.name.startswith(path.name + ".")
        ):
            return True
    return False


def apply(rules: Policy) -> Status:
    """Confine this process: Landlock for files and TCP, seccomp for processes,
    sockets and other processes' memory. Applies what the OS offers and says
    what it could not."""
    reasons = []
    abi = landlock.abi_version()
    filesystem = network = processes = False
    try:
        restriction = landlock.restrict_self(list(rules.rules))
    except landlock.LandlockError as error:
        reasons.append(f"Landlock: {error.strerror or error}")
    else:
        filesystem = True
        network = restriction.network
        if not restriction.network:
            reasons.append(f"Landlock ABI {abi} cannot restrict TCP (needs 4)")
    try:
        seccomp.load_filter()
    except seccomp.SeccompError as error:
        reasons.append(f"seccomp: {error.strerror or error}")
    else:
        processes = True
        # Every socket() call is refused, which covers the network without Landlock's TCP rules.
        network = True
    return Status(filesystem, network, processes, abi, tuple(reasons))


def unavailable(reason: str) -> Status:
    """The status of a child left unconfined, and why."""
    return Status(False, False, False, landlock.abi_version(), (reason,))


def study_directories(definition: Path) -> list[Path]:
    """The study: the working directory, and the definition's own directory
    when it lies elsewhere (it may import helper modules from there)."""
    cwd = Path.cwd().resolve()
    directories = [cwd]
    folder = Path(definition).resolve().parent
    if folder != cwd and cwd not in folder.parents:
        directories.append(folder)
    return directories


def inside_study(path: Path, directories: Sequence[Path]) -> bool:
    """Whether `path` (after following links) lies inside one of the study directories."""
    resolved = Path(os.path.realpath(path))
    return any(resolved == d or d in resolved.parents for d in directories)
