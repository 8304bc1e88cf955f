"""bench/velocity_fit.py: the hyperbola velocity fit on the simulator's own GPR model.

Issue 12: the GPR processor's permittivity estimate read 3.8-7.1 on laterite (10). Straight
below the line of traces the fit reads the soil; beside it (where a boom's channel passes most
targets) it reads a drier soil, the shallower the target and the wetter the soil the more.
"""

import json
import os
import subprocess
import sys

import pytest

from demining_sim.generator import soil_preset
from demining_sim.sensors.gpr import GprParams

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, '..', '..', 'bench')
SCRIPT = os.path.join(BENCH, 'velocity_fit.py')


@pytest.fixture(scope='module')
def velocity_fit():
    sys.path.insert(0, BENCH)
    try:
        import velocity_fit
    finally:
        sys.path.remove(BENCH)
    return velocity_fit


@pytest.mark.parametrize('soil', ['dry_sand', 'laterite', 'wet_clay'])
def test_straight_below_the_line_the_fit_reads_the_soil(velocity_fit, soil):
    truth = soil_preset(soil).permittivity
    read = velocity_fit.read_permittivity(soil, 0.1, 0.0, GprParams())
    assert read == pytest.approx(truth, rel=0.1)


@pytest.mark.parametrize('soil', ['loam', 'laterite', 'wet_clay'])
def test_beside_the_line_the_fit_reads_a_drier_soil(velocity_fit, soil):
    """A target 10 cm beside the line (a channel of a 0.25 m pitch boom passes most targets
    that far) reads under two thirds of the soil's permittivity at 10 cm deep."""
    truth = soil_preset(soil).permittivity
    read = velocity_fit.read_permittivity(soil, 0.1, 0.1, GprParams())
    assert read < 2.0 / 3.0 * truth


def test_the_bench_prints_its_table_as_json_last():
    proc = subprocess.run([sys.executable, SCRIPT, '--soils', 'laterite', '--depths', '0.1',
                           '--lateral', '0,0.1'], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['lateral_m'] == [0.0, 0.1]
    straight, beside = result['read']['laterite']['0.1']
    assert beside < straight
