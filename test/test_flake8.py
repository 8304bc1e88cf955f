"""Style is part of the suite (as ament_flake8 does for ROS 2 packages): flake8 at 99 columns."""

import os
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.timeout(120)
def test_flake8_clean():
    pytest.importorskip('flake8', reason='flake8 is not installed')
    proc = subprocess.run([sys.executable, '-m', 'flake8', '--config',
                           os.path.join(_ROOT, 'setup.cfg'), _ROOT],
                          capture_output=True, text=True, cwd=_ROOT)
    assert proc.returncode == 0, f'flake8 found problems:\n{proc.stdout}{proc.stderr}'
