"""Atomic output files (issue 17): every file a command writes appears whole or not at all.

The data goes to a temporary file in the destination's own directory (so that the final
:func:`os.replace` is a rename within one file system), is flushed and synced, and only then
replaces the destination. On any error (a full disk, a read-only directory, an interrupt) the
temporary file is removed and the destination is left as it was; the error is one
:class:`~ratio.errors.OutputError` line naming the path, which the CLI reports with exit 2.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ratio.errors import OutputError

__all__ = [
    "check_output_path",
    "write_text_atomic",
    "write_bytes_atomic",
    "atomic_path",
    "os_error",
    "write_with",
]


def os_error(path: str | Path, exc: OSError, doing: str = "cannot write") -> OutputError:
    """The one-line error for an :class:`OSError` on ``path``."""
    why = exc.strerror or type(exc).__name__
    return OutputError(f"{path}: {doing} ({why})")


def check_output_path(path: str | Path, option: str = "-o") -> Path:
    """Refuse, before any work, an output path that can never be written as a file: empty, an
    existing directory, or one whose parent is a file. Returns it as a :class:`Path`."""
    if str(path).strip() == "":
        raise OutputError(f"{option}: the output path is empty")
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p}: is a directory; {option} needs a file name")
    if p.exists() and not p.is_file():
        # Renaming onto a device such as /dev/null would replace the device itself.
        raise OutputError(f"{p}: not a regular file; {option} needs a file name")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{p}: {parent} is not a directory")
            break
    return p


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit it replaces ``path``, on any
    exception it is removed. ``suffix`` keeps the extension for writers that read it (PNG)."""
    p = check_output_path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=suffix + ".tmp", dir=p.parent)
    except OSError as e:
        raise os_error(p, e) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as e:
        raise os_error(p, e) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write(path: str | Path, data: bytes) -> Path:
    p = Path(path)
    with atomic_path(p) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
    return p


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return _write(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    return _write(path, data)


def write_with(path: str | Path, writer: Callable[[Path], object], *, suffix: str = "") -> Path:
    """Call ``writer(tmp)`` to produce the file, then move it to ``path`` atomically."""
    with atomic_path(path, suffix=suffix) as tmp:
        writer(tmp)
    return Path(path)
