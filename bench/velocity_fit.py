#!/usr/bin/env python3
"""What the GPR processor's hyperbola velocity fit reads for a point target beside the channel.

Issue 12: on laterite (permittivity 10) the processor's estimate read 3.8-7.1, and the depths
it sets (``v t / 2``) read deep by up to sqrt(10 / 3.8) = 1.6. This bench isolates the fit
(:func:`demining_perception.gpr.processing.fit_velocity`) from the rest of the chain: the
simulator's own GPR model (:class:`demining_sim.sensors.gpr.GprModel`, noise-free, smooth
ground) draws one metal point target under a straight line of traces, once straight below the
line and once at each ``--lateral`` distance beside it (the boom's channels are ~0.25 m apart,
config/vehicles/*.yaml, so a target lies up to 0.125 m beside the nearest channel's line and
0.125-0.375 m beside its neighbours'). The target's own traces (the coupling, ringing and
ground bounce of a target-free run subtracted) are enveloped and fitted as the processor fits
a detection (in noise units, as the processor whitens them), apex at the true apex sample.

The fit takes the hyperbola as that of a target straight below, whose moveout is set by the
equivalent air depth ``D = h + d / n``; beside the line by ``sqrt(D^2 + u^2)``, which reads as
a drier soil, the more so the shallower the target and the wetter the soil. The last line is a
JSON object: per soil, depth and lateral distance, the permittivity read. Reproduce:
``python bench/velocity_fit.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))

from demining_bringup.contract.world import BuriedItem, ItemKind  # noqa: E402
from demining_perception.gpr.processing import (C_M_PER_NS, envelope,  # noqa: E402
                                                fit_velocity)
from demining_sim.generator import soil_preset  # noqa: E402
from demining_sim.sensors.gpr import GprModel, GprParams  # noqa: E402
from demining_sim.spatial import ItemTable  # noqa: E402

#: Trace spacing along the line, m (0.4 m/s at 25 traces/s) and the half length of the line
#: fitted, m (the processor's peak_half_window_m plus the fit's largest apex shift).
TRACE_STEP_M = 0.016
HALF_LINE_M = 0.35
#: The target: a metal can (a point to the simulator, which gives only mines a flat top; 10 cm
#: across, its echo is as strong as the model makes any: a weaker one leaves the flanks 10 cm
#: beside the line below the fit's pick level), and where the line runs.
TARGET = dict(kind=ItemKind.CLUTTER, diameter=0.1, height=0.03, metal_mass=0.2,
              permittivity=80.0, model='can')
LINE_X0_M = 5.0


def read_permittivity(soil: str, depth_m: float, lateral_m: float,
                      params: GprParams) -> float:
    """The permittivity :func:`fit_velocity` reads for the target ``lateral_m`` beside the
    line (NaN when the fit finds too few flank picks)."""
    s = soil_preset(soil)
    target = BuriedItem(name='target', x=LINE_X0_M, y=lateral_m, depth=depth_m, **TARGET)
    offsets = np.arange(-HALF_LINE_M, HALF_LINE_M + 1e-9, TRACE_STEP_M)
    n = len(offsets)
    ant_x, ant_y = LINE_X0_M + offsets, np.zeros(n)
    ant_h = np.full(n, params.gpr_antenna_height_m)
    channels = np.zeros(n, dtype=np.intp)

    def traces(items: List[BuriedItem]) -> np.ndarray:
        model = GprModel(params, ItemTable(items), s.permittivity, s.conductivity, 0.0,
                         np.random.default_rng(0))
        return model.synthesize(ant_x, ant_y, ant_h, channels, noise=False)

    # in the processor's units: whitened, the simulator's white noise has sigma 1
    env = envelope(traces([target]) - traces([])) / params.gpr_noise
    dt = params.gpr_sample_interval_ns
    surface = 2.0 * params.gpr_antenna_height_m / C_M_PER_NS / dt
    k_lo = int(math.ceil(surface))
    window = np.concatenate([env[:, k_lo:], np.zeros((n, 1))], axis=1)
    apex = int(np.argmin(np.abs(offsets)))
    k0 = float(np.argmax(window[apex, :-1]))
    return fit_velocity(offsets, window, k0, k_lo - surface, dt, params.gpr_antenna_height_m)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--soils', default='dry_sand,loam,laterite,wet_clay',
                    help='soil presets (demining_sim/generator.py)')
    ap.add_argument('--depths', default='0.06,0.1,0.2', help='target depths (top), m')
    ap.add_argument('--lateral', default='0,0.05,0.1,0.125,0.25',
                    help='distances of the target beside the line, m')
    args = ap.parse_args()
    params = GprParams()
    lateral = [float(v) for v in args.lateral.split(',')]
    result: Dict[str, Dict[str, List[float]]] = {}
    for soil in args.soils.split(','):
        truth = soil_preset(soil).permittivity
        result[soil] = {}
        for depth in [float(v) for v in args.depths.split(',')]:
            read = [read_permittivity(soil, depth, u, params) for u in lateral]
            result[soil][f'{depth:g}'] = [round(v, 2) for v in read]
            cells = ' '.join(f'{v:6.1f}' for v in read)
            print(f'{soil:9s} eps {truth:4.1f} depth {100 * depth:4.0f} cm: read {cells} '
                  f'at {", ".join(f"{100 * u:g}" for u in lateral)} cm beside', flush=True)
    print(json.dumps({'lateral_m': lateral, 'read': result}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
