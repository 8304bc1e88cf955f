"""Shared fixtures of the whole-mission tests.

Whole missions in ``make test`` run on one small generated field (10 m x 6 m, two AP mines, a
declared 10 m safe belt) so the suite keeps its 15-minute budget on two cores. The belt is
declared safe because a 6 m wide field is all headland without it; headland planning without
safe surroundings has its own planner tests. The field has no clutter and no stones: these
tests are about the record, the hosts' equivalence, people and the tools, and a stone or a wire
that perception labels AT (a permanent no-go zone; issue 12, still measured) would decide their
coverage figures. Perception on cluttered ground it has never seen is measured by the
scoreboard (``bench/missions.py``: generated families with clutter and stones) and
``bench/perception.py``; the shipped demo worlds with every profile are the scoreboard's too.
"""

import subprocess
import sys

import pytest

#: ``demine generate-world`` arguments of the small field.
SMALL_FIELD_ARGS = ('--polygon', '0,0 10,0 10,6 0,6', '--seed', '5', '--ap-density', '2.5',
                    '--clutter-density', '0', '--rock-density', '0', '--safe-margin', '10')


@pytest.fixture(scope='session')
def small_field(tmp_path_factory) -> str:
    """Path of the small generated field's world file (written once per test session)."""
    path = str(tmp_path_factory.mktemp('world') / 'small.sdf')
    subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'generate-world',
                    *SMALL_FIELD_ARGS, '-o', path], check=True, capture_output=True)
    return path
