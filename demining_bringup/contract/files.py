"""Whole-file writes for the mission record: temp file, fsync, mode, rename, fsync the folder.

A run folder must survive a kill or a power cut at any instant with every file either the old
version or the new one, never a torn one (issue 9: "writes are temp + fsync + rename"), and be
readable by the other users and services of the vehicle computer (mode 0644).
"""

from __future__ import annotations

import os
import tempfile

#: Mode of every file of a run folder: readable by other users and services.
FILE_MODE = 0o644


def fsync_dir(folder: str) -> None:
    """Flush a folder's entries (a rename is durable only then); a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return                                       # platforms that cannot open a folder
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: temp file, fsync, mode 0644, rename, fsync folder."""
    folder = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(folder)
