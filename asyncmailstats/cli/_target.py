"""Where ``--out`` writes: atomically for regular files, in place for devices and FIFOs.

A regular file (or a path that does not exist yet) is written to a temporary file in the
same folder and renamed over the target when complete, so readers never see half a file.
The target's symlinks are followed: a symlink to a regular file keeps pointing at the
same, now replaced, file. An existing file keeps its permission bits (and, best effort,
its owner); a new one gets ``0666 & ~umask`` like any file a shell redirection creates.

Anything a rename would destroy is written in place instead (opened for writing and
truncated where that means something, no rename): character and block devices, FIFOs,
sockets, and regular files with more than one hard link (renaming over one name would
split it from its other names). In place means an interrupted export leaves what was
written so far.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO


class UsageError(Exception):
    """A command-line value the command refuses before doing any work (exit status 2)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stat(path: Path) -> os.stat_result | None:
    """Return the status of *path* after symlinks, or ``None`` if it does not exist."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def writes_in_place(path: str | os.PathLike[str]) -> bool:
    """Tell whether *path* is written in place (device, FIFO, hard-linked file)."""
    info = _stat(Path(path))
    if info is None:
        return False
    if stat.S_ISREG(info.st_mode):
        return info.st_nlink > 1
    return True


def check_target(path: str | os.PathLike[str]) -> None:
    """Refuse an ``--out`` path that cannot be written, before any request is sent."""
    target = Path(path)
    try:
        info = _stat(target)
    except OSError as error:
        msg = f"--out {path}: {error.strerror or error}"
        raise UsageError(msg) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        msg = f"--out {path} is a directory"
        raise UsageError(msg)
    if info is not None and writes_in_place(target):
        if not os.access(target, os.W_OK):
            msg = f"--out {path} is not writable"
            raise UsageError(msg)
        return
    check_folder(f"--out {path}", target)


def check_folder(option: str, target: str | os.PathLike[str]) -> None:
    """Refuse *target* when its folder is missing or not writable (*option* names it)."""
    folder = Path(os.path.realpath(target)).parent
    if not folder.is_dir():
        msg = f"{option}: folder {folder} does not exist"
        raise UsageError(msg)
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"{option}: folder {folder} is not writable"
        raise UsageError(msg)


class AtomicOutput:
    """A text output that appears under its final name only when complete.

    For a regular file (or a new one) data goes to a temporary file in the target's
    folder, renamed over the target by :meth:`commit`; leaving the ``with`` block without
    committing (an error, Ctrl-C, SIGTERM) deletes it. Devices, FIFOs and hard-linked
    files are written in place (see the module docstring). With ``path=None`` data goes
    to stdout.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self._tmp: Path | None = None
        self._final: Path | None = None
        self._own_stream = False
        self.stream: TextIO = sys.stdout

    def __enter__(self) -> Self:
        if self.path is None:
            return self
        if writes_in_place(self.path):
            self.stream = self.path.open("w", encoding="utf-8", newline="")
            self._own_stream = True
            return self
        final = Path(os.path.realpath(self.path))
        existing = _stat(final)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
        self._tmp, self._final = Path(name), final
        try:
            if existing is not None:
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
                with contextlib.suppress(OSError):
                    os.fchown(fd, existing.st_uid, existing.st_gid)
            else:
                os.fchmod(fd, 0o666 & ~_umask())
        except BaseException:
            os.close(fd)
            self._tmp.unlink()
            raise
        self.stream = io.open(fd, "w", encoding="utf-8", newline="")  # noqa: UP020
        self._own_stream = True
        return self

    def commit(self) -> None:
        """Flush, and move a finished temporary file to its final name."""
        self.stream.flush()
        if self._own_stream:
            self.stream.close()
        if self._tmp is not None and self._final is not None:
            self._tmp.replace(self._final)
            self._tmp = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._own_stream:
            with contextlib.suppress(OSError):
                self.stream.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            self._tmp = None
