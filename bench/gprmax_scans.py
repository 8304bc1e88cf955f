#!/usr/bin/env python3
"""Small 2-D gprMax B-scans for ``demine gpr`` tests (test/data/gprmax/*_merged.out).

Each model is a 0.5 x 0.3 m 2-D domain (2.5 mm cells, 5 ns, a 1.5 GHz Ricker Hertzian
dipole 5 cm above the ground, the receiver 2 cm beside it) with one object; 40 A-scans 1 cm
apart (src/rx steps) are run with gprMax (Warren, Giannopoulos & Giannakis 2016; ``pip install
gprMax``, about 10 s per A-scan on one core) and merged into one HDF5 file in gprMax's merged
layout (``rxs/rx1/Ez`` S x N as float32, root ``dt``, ``dx_dy_dz``, ``rxsteps`` in cells, the
first trace's ``rxs/rx1`` and ``srcs/src1`` ``Position``), keeping only ``Ez`` so the files
stay small. ``TRUTH`` gives each object's position (x of its centre, depth of its top) for
the test; ``TUNED`` says which scans were looked at while the processing was changed (the
others were held back: generated and checked once).

Reproduce: ``python bench/gprmax_scans.py --out test/data/gprmax`` (about 25 minutes on one
core; ``--only NAME`` for one model).
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from typing import Dict, List

import numpy as np

_HEADER = """#domain: 0.5 0.3 0.0025
#dx_dy_dz: 0.0025 0.0025 0.0025
#time_window: 5e-9
#waveform: ricker 1 1.5e9 pulse
#hertzian_dipole: z 0.04 0.25 0 pulse
#rx: 0.06 0.25 0
#src_steps: 0.01 0 0
#rx_steps: 0.01 0 0
"""
#: Ground surface height in the models, m (antennas at 0.25: 5 cm above it).
SURFACE_Y = 0.2
TRACES = 40

MODELS: Dict[str, str] = {
    'metal_rod_sand': """#title: metal rod (r 1 cm) top 8 cm deep in dry sand (eps 4)
#material: 4 0.001 1 0 sand
#box: 0 0 0 0.5 0.2 0.0025 sand
#cylinder: 0.25 0.11 0 0.25 0.11 0.0025 0.01 pec
""",
    'plastic_mine_loam': """#title: PMN-like plastic disc 11 x 5 cm top 6 cm deep in loam
#material: 9 0.005 1 0 loam
#material: 3 0 1 0 mine
#box: 0 0 0 0.5 0.2 0.0025 loam
#box: 0.195 0.09 0 0.305 0.14 0.0025 mine
""",
    'rock_sand': """#title: rock (r 3 cm, eps 6) top 10 cm deep in dry sand (eps 4)
#material: 4 0.001 1 0 sand
#material: 6 0.001 1 0 rock
#box: 0 0 0 0.5 0.2 0.0025 sand
#cylinder: 0.22 0.07 0 0.22 0.07 0.0025 0.03 rock
""",
}
#: Object centre x and top depth (m) and soil permittivity of each model.
TRUTH = {'metal_rod_sand': (0.25, 0.08, 4.0), 'plastic_mine_loam': (0.25, 0.06, 9.0),
         'rock_sand': (0.22, 0.10, 4.0)}
#: Scans looked at while tuning (none of the processing was tuned on the others).
TUNED = ('metal_rod_sand',)


def merge(ascans: List[str], out: str) -> None:
    """Merge A-scan files (in trace order) into one small merged B-scan file (Ez only)."""
    import h5py
    cols = []
    with h5py.File(ascans[0], 'r') as f0:
        attrs = {k: f0.attrs[k] for k in ('dt', 'dx_dy_dz', 'rxsteps', 'Title') if k in f0.attrs}
        rx_pos = f0['rxs/rx1'].attrs['Position']
        src_pos = f0['srcs/src1'].attrs['Position']
    for p in ascans:
        with h5py.File(p, 'r') as f:
            cols.append(np.asarray(f['rxs/rx1/Ez'], dtype=np.float32))
    with h5py.File(out, 'w') as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        g = f.create_group('rxs/rx1')
        g.attrs['Position'] = rx_pos
        f.create_group('srcs/src1').attrs['Position'] = src_pos
        g.create_dataset('Ez', data=np.stack(cols, axis=1), compression='gzip')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join('test', 'data', 'gprmax'))
    ap.add_argument('--work', default='/tmp/gprmax_work', help='folder for the A-scans')
    ap.add_argument('--only', default=None, help='one model name')
    ap.add_argument('--merge-only', action='store_true', help='merge existing A-scans')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    for name, body in MODELS.items():
        if args.only and name != args.only:
            continue
        base = os.path.join(args.work, name)
        if not args.merge_only:
            with open(base + '.in', 'w', encoding='utf-8') as f:
                f.write(body + _HEADER)
            env = dict(os.environ, OMP_NUM_THREADS='1')
            subprocess.run([sys.executable, '-m', 'gprMax', base + '.in', '-n', str(TRACES),
                            '--hide-progress-bars'], check=True, env=env)
        files = sorted(glob.glob(base + '[0-9]*.h5') + glob.glob(base + '[0-9]*.out'),
                       key=lambda p: int(''.join(c for c in os.path.basename(p)[len(name):]
                                                 if c.isdigit())))
        merge(files, os.path.join(args.out, name + '_merged.out'))
        print(f'{name}: {len(files)} A-scans merged')
    return 0


if __name__ == '__main__':
    sys.exit(main())
