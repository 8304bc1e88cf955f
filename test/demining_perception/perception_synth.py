"""Synthetic GPR / MD data with known truth for the perception tests (not the simulator).

A straight drive along +x in map at constant speed, the sensor boom ``SENSOR_X`` ahead of
base_link, 8 channels across 2 m; traces follow the conventions of the brief (Ricker wavelet,
ground bounce at 2h/c, object reflections with the hyperbolic moveout of a ray refracted at the
surface, white noise).
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Sequence, Tuple

import numpy as np

from demining_bringup.contract.datatypes import GprScan, MdScan, VehicleState
from demining_perception.pose_buffer import PoseBuffer

C = 0.299792458           # m/ns
SENSOR_X = 4.0
N_CH = 8
WIDTH = 2.0
CH_Y = -WIDTH / 2 + WIDTH / N_CH * (np.arange(N_CH) + 0.5)   # -0.875 .. 0.875
SPEED = 0.4
BATCH_HZ = 10.0
GPR_HZ = 25.0
MD_HZ = 50.0
S = 256
DT_NS = 0.04
F_GHZ = 1.5
H = 0.05                  # antenna height
T_DELAY = 1.0             # ns, the causal Ricker's delay (both bounce and objects)
COIL_H = 0.05


def ricker(t_ns: np.ndarray) -> np.ndarray:
    """Ricker wavelet (peak 1 at t = 0)."""
    a = (math.pi * F_GHZ * t_ns) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


@dataclasses.dataclass
class Obj:
    """A buried object for the synthetic sensors."""

    x: float
    y: float
    depth: float
    gpr_amp: float = 0.2      # reflection amplitude at the apex (ground bounce = 1)
    metal_k: float = 0.0      # MD response scale: signal = metal_k / r^6 (mV m^6)


def pose_at(t: float, x0: float = 0.0, y0: float = 0.0) -> VehicleState:
    """Truth pose of the straight drive at time t."""
    return VehicleState(stamp=t, x=x0 + SPEED * t, y=y0, yaw=0.0, v=SPEED, omega=0.0)


def fill_poses(buf: PoseBuffer, t0: float, t1: float, x0: float = 0.0) -> None:
    """Add 20 Hz truth poses in [t0, t1]."""
    for t in np.arange(t0, t1 + 1e-9, 0.05):
        buf.add(pose_at(float(t), x0))


def gpr_traces(ant_xy: np.ndarray, objs: Sequence[Obj], eps: float, noise: float,
               rng: np.random.Generator) -> np.ndarray:
    """Traces (N x S) for antennas at map positions ``ant_xy``."""
    t = np.arange(S) * DT_NS
    v = C / math.sqrt(eps)
    t_g = T_DELAY + 2 * H / C
    n = len(ant_xy)
    out = np.zeros((n, S))
    # Direct coupling with ringing (same for every trace), then the ground bounce.
    out += 1.5 * ricker(t - T_DELAY + 0.3)[None, :]
    out += 0.2 * np.exp(-(t - T_DELAY) / 1.5).clip(max=1.0) * np.sin(2 * math.pi * 2.1 * t)
    out += -1.0 * ricker(t[None, :] - t_g + rng.normal(0, 0.005, (n, 1)))
    for o in objs:
        # Refracted at the surface: the hyperbola of the equivalent air depth D = h + d / n.
        x = np.hypot(ant_xy[:, 0] - o.x, ant_xy[:, 1] - o.y)
        big_d = H + o.depth * v / C
        r = np.sqrt(big_d ** 2 + x ** 2)
        amp = o.gpr_amp * (big_d / r) ** 2
        t_obj = t_g + 2 * o.depth / v + 2 * (r - big_d) / C
        out += amp[:, None] * ricker(t[None, :] - t_obj[:, None])
    out += rng.normal(0.0, noise, out.shape)
    return out.astype(np.float32)


def gpr_batches(duration: float, objs: Sequence[Obj], *, eps: float = 9.0,
                noise: float = 0.01, seed: int = 1, t_start: float = 0.0,
                ) -> List[Tuple[GprScan, float]]:
    """GPR batches of a straight drive; returns (scan, stamp) pairs."""
    rng = np.random.default_rng(seed)
    out = []
    k = int(round(t_start * GPR_HZ))
    for b in range(1, int(duration * BATCH_HZ) + 1):
        stamp = t_start + b / BATCH_HZ
        times = []
        while (k + 1) / GPR_HZ <= stamp + 1e-9:
            k += 1
            times.append(k / GPR_HZ)
        if not times:
            continue
        tt = np.repeat(times, N_CH)
        ch = np.tile(np.arange(N_CH), len(times))
        pos = np.stack([np.full(len(tt), SENSOR_X), CH_Y[ch], np.full(len(tt), H)], axis=1)
        ant = np.stack([SPEED * tt + SENSOR_X, CH_Y[ch]], axis=1)
        amps = gpr_traces(ant, objs, eps, noise, rng)
        out.append((GprScan(stamp=stamp, positions=pos, time_offsets=tt - stamp,
                            channels=ch, sample_interval_ns=DT_NS, amplitudes=amps), stamp))
    return out


def md_layout(duration: float, coil_y: np.ndarray = CH_Y):
    """Yield ``(stamp, times, channels, coil_x, coil_y)`` of each 10 Hz MD batch of a drive.

    Readings at ``MD_HZ`` per coil; positions are the coils' map x, y on a straight drive along
    x at ``SPEED`` with the boom ``SENSOR_X`` ahead of base_link (base_link at x = SPEED * t).
    """
    n = len(coil_y)
    k = 0
    for b in range(1, int(duration * BATCH_HZ) + 1):
        stamp = b / BATCH_HZ
        times = []
        while (k + 1) / MD_HZ <= stamp + 1e-9:
            k += 1
            times.append(k / MD_HZ)
        tt = np.repeat(times, n)
        ch = np.tile(np.arange(n), len(times))
        yield stamp, tt, ch, SPEED * tt + SENSOR_X, coil_y[ch]


def md_batches(duration: float, objs: Sequence[Obj], *, noise_mv: float = 1.0,
               drift_mv: float = 20.0, drift_period_s: float = 60.0, seed: int = 2,
               coil_y: np.ndarray = CH_Y) -> List[MdScan]:
    """MD batches of a straight drive (soil background drifting by ``drift_mv``)."""
    rng = np.random.default_rng(seed)
    n = len(coil_y)
    offsets = rng.uniform(5.0, 15.0, n)
    out = []
    for stamp, tt, ch, cx, cy in md_layout(duration, coil_y):
        sig = offsets[ch] + drift_mv * np.sin(2 * math.pi * tt / drift_period_s)
        for o in objs:
            r2 = (cx - o.x) ** 2 + (cy - o.y) ** 2 + (o.depth + COIL_H) ** 2
            sig = sig + o.metal_k / r2 ** 3
        sig = sig + rng.normal(0.0, noise_mv, len(tt))
        pos = np.stack([np.full(len(tt), SENSOR_X), cy, np.full(len(tt), COIL_H)], axis=1)
        out.append(MdScan(stamp=stamp, positions=pos, time_offsets=tt - stamp, channels=ch,
                          signals=sig.astype(np.float32)))
    return out


def metal_k_for(peak_mv: float, depth: float) -> float:
    """MD scale giving ``peak_mv`` directly above an object at ``depth``."""
    return peak_mv * (depth + COIL_H) ** 6


def sim_gpr_batch(model, stamp: float, k: int, ch_y: np.ndarray, sensor_x: float,
                  base_link_at, height=None) -> Tuple[GprScan, int]:
    """One batch at ``stamp`` of the simulator's GPR ``model`` (its traces numbered after
    ``k`` up to ``stamp``, every channel each time) on a boom of channels ``ch_y`` across,
    ``sensor_x`` ahead of base_link, whose map pose at time t is ``base_link_at(t)`` ->
    (x, y, yaw); ``height(ant_x)`` the antenna's height over the ground (default nominal).
    Returns the scan and the last trace's number."""
    p = model.p
    times = []
    while (k + 1) / p.gpr_trace_rate_hz <= stamp + 1e-9:
        k += 1
        times.append(k / p.gpr_trace_rate_hz)
    n_ch = len(ch_y)
    tt = np.repeat(times, n_ch)
    ch = np.tile(np.arange(n_ch), len(times))
    base = np.stack([np.full(tt.size, sensor_x), ch_y[ch],
                     np.full(tt.size, p.gpr_antenna_height_m)], axis=1)
    pose = np.array([base_link_at(float(t)) for t in tt]).reshape(-1, 3)
    c, s = np.cos(pose[:, 2]), np.sin(pose[:, 2])
    ant_x = pose[:, 0] + c * sensor_x - s * ch_y[ch]
    ant_y = pose[:, 1] + s * sensor_x + c * ch_y[ch]
    ant_h = np.full(tt.size, p.gpr_antenna_height_m) if height is None \
        else np.array([height(x) for x in ant_x])
    return model.scan(stamp, tt - stamp, base, ch, ant_x, ant_y, ant_h), k
