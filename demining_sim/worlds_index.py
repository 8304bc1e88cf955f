"""The bundled world files: where they are, their names, and resolving a world argument.

A plain helper (no rclpy, no stack composition): the simulator and the sensor emulator resolve
their ``world`` parameter here, and :mod:`demining_bringup.stack` uses the same functions, so
a world name means the same file everywhere.
"""

from __future__ import annotations

import os
from typing import List

from demining_bringup.contract.errors import ConfigError

#: Suffix of a world file; a bundled world's name is its file name without it.
WORLD_SUFFIX = '.sdf'
#: Environment variable naming the installed share folder (see ``stack.share_dir``); its
#: ``worlds/`` is used when the package folder carries no worlds.
SHARE_ENV = 'DEMINING_SHARE'


def worlds_dir() -> str:
    """Return the folder of the bundled world files.

    The worlds are package data of :mod:`demining_sim` (setup.py), so they sit next to this
    module in the source tree and in every install; ``$DEMINING_SHARE/worlds`` is the fallback
    of an install that left the package data out.
    """
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'worlds')
    if os.path.isdir(here):
        return here
    return os.path.join(os.environ.get(SHARE_ENV, ''), 'worlds')


def list_worlds() -> List[str]:
    """Return the names of the bundled worlds (empty when the folder is missing)."""
    folder = worlds_dir()
    if not os.path.isdir(folder):
        return []
    return sorted(f[:-len(WORLD_SUFFIX)] for f in os.listdir(folder)
                  if f.endswith(WORLD_SUFFIX))


def find_world(name_or_path: str) -> str:
    """Resolve a world name (``training_field``) or path to an existing file path.

    Raises :class:`ConfigError` (a configuration error: one line, exit code 2) when nothing
    matches.
    """
    if not name_or_path:
        raise ConfigError('no world given')
    if os.path.isfile(name_or_path):
        return os.path.abspath(name_or_path)
    if os.sep not in name_or_path:
        candidate = os.path.join(worlds_dir(), name_or_path)
        for path in (candidate, candidate + WORLD_SUFFIX):
            if os.path.isfile(path):
                return path
    raise ConfigError(f'world {name_or_path!r} not found (a file path, or one of: '
                      f'{", ".join(list_worlds())})')


__all__ = ['WORLD_SUFFIX', 'find_world', 'list_worlds', 'worlds_dir']
