"""People sensor on the vehicle: a ring of short-range radars that detect people and animals.

Modelled on a 24 GHz short-range radar of the kind used for blind-spot and lane-change warning
(docs/sources.md, section 8: search range 4-80 m, azimuth about +-40 deg per unit, range accuracy
+-0.5 m, angle accuracy +-2 deg). Several units around the hull give the horizontal field of view
``people_sensor_hfov_deg`` (360 deg by default: a flail throws debris all round, and the machine
reverses and pivots). Per scan (``people_sensor_rate_hz``):

* every actor inside the range and the field of view is detected with probability
  ``Pd(r) = people_pd_max / (1 + exp((r - people_pd_half_range_m) / people_pd_spread_m))``
  (detection probability falls with range as the echo weakens; a logistic curve, our model);
* its position is measured in polar form with Gaussian errors (``people_range_sigma_m``,
  ``people_bearing_sigma_deg``), in ``base_link``;
* false alarms: a Poisson number (mean ``people_false_alarms_per_scan``) spread uniformly over
  the covered area (clutter, vegetation moving in the wind, multipath);
* the scan is delivered ``people_sensor_latency_s`` after its measurement time, stamped with
  the measurement time.

One ``numpy.random.Generator`` (the simulator's ``people`` stream) draws everything, so a seed
gives the same detections.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Deque, List, Sequence, Tuple

import numpy as np

from demining_bringup.contract.datatypes import PlanarPoints
from demining_bringup.contract.parameters import param


@dataclasses.dataclass(frozen=True)
class PeopleSensorParams:
    """Parameters of the people sensor (docs/sources.md, section 8)."""

    people_sensor_rate_hz: float = param(10.0, 'People sensor scan rate, Hz', min=0.5,
                                         max=100.0)
    people_sensor_range_m: float = param(80.0, 'People sensor maximum range, m (24 GHz SRR: '
                                         '80 m; docs/sources.md)', min=1.0, max=500.0)
    people_sensor_min_range_m: float = param(0.5, 'People sensor minimum range, m', min=0.0,
                                             max=50.0)
    people_sensor_hfov_deg: float = param(360.0, 'Horizontal field of view of the sensor ring, '
                                          'deg, centred ahead (one SRR unit: ~80)', min=1.0,
                                          max=360.0)
    people_sensor_x_m: float = param(0.0, 'Sensor ring centre ahead of base_link, m',
                                     min=-20.0, max=20.0)
    people_pd_max: float = param(0.95, 'Detection probability of a person at short range',
                                 min=0.0, max=1.0)
    people_pd_half_range_m: float = param(70.0, 'Range at which the detection probability has '
                                          'halved, m (our estimate)', min=1.0, max=500.0)
    people_pd_spread_m: float = param(3.0, 'Width of the detection-probability fall-off, m',
                                      min=0.1, max=100.0)
    people_range_sigma_m: float = param(0.25, 'Range error (1 sigma), m (SRR: +-0.5 m)',
                                        min=0.0, max=10.0)
    people_bearing_sigma_deg: float = param(1.0, 'Bearing error (1 sigma), deg (SRR: +-2 deg)',
                                            min=0.0, max=20.0)
    people_false_alarms_per_scan: float = param(0.05, 'Mean false alarms per scan over the '
                                                'whole field of view (our estimate)', min=0.0,
                                                max=100.0)
    people_sensor_latency_s: float = param(0.1, 'Delay from measurement to delivery, s',
                                           min=0.0, max=5.0)


def detection_probability(r: float, p: PeopleSensorParams) -> float:
    """Probability of detecting a person at range ``r`` (inside the field of view)."""
    if r < p.people_sensor_min_range_m or r > p.people_sensor_range_m:
        return 0.0
    z = (r - p.people_pd_half_range_m) / p.people_pd_spread_m
    return p.people_pd_max / (1.0 + math.exp(min(z, 700.0)))


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class PeopleSensor:
    """Scans the actors from the vehicle pose; :meth:`ready` hands out delivered scans."""

    def __init__(self, params: PeopleSensorParams, rng: np.random.Generator) -> None:
        """Model one sensor ring with its own random stream."""
        self.p = params
        self.rng = rng
        self._pending: Deque[Tuple[float, PlanarPoints]] = collections.deque(maxlen=1000)
        #: Delivery time of the oldest queued scan (inf when none): the simulator compares
        #: it every physics step, cheaper than asking :meth:`ready`.
        self.next_delivery = math.inf
        self.false_alarms = 0
        self.detections = 0

    def in_view(self, bx: float, by: float) -> bool:
        """Whether a base_link point is inside the range and field of view."""
        p = self.p
        dx, dy = bx - p.people_sensor_x_m, by
        r = math.hypot(dx, dy)
        if r < p.people_sensor_min_range_m or r > p.people_sensor_range_m:
            return False
        return abs(math.atan2(dy, dx)) <= math.radians(p.people_sensor_hfov_deg) / 2.0 + 1e-12

    def scan(self, t: float, x: float, y: float, yaw: float,
             actors: Sequence[Tuple[float, float]]) -> PlanarPoints:
        """Measure at time ``t`` from the true pose; queue the scan for delivery; return it."""
        p, rng = self.p, self.rng
        c, s = math.cos(yaw), math.sin(yaw)
        half = math.radians(p.people_sensor_hfov_deg) / 2.0
        pts: List[Tuple[float, float]] = []
        for ax, ay in actors:
            dx, dy = ax - x, ay - y
            bx, by = c * dx + s * dy - p.people_sensor_x_m, -s * dx + c * dy
            r = math.hypot(bx, by)
            bearing = math.atan2(by, bx)
            if abs(bearing) > half + 1e-12:
                continue
            if rng.random() >= detection_probability(r, p):
                continue
            rm = max(0.0, r + rng.normal(0.0, p.people_range_sigma_m))
            bm = bearing + rng.normal(0.0, math.radians(p.people_bearing_sigma_deg))
            pts.append((p.people_sensor_x_m + rm * math.cos(bm), rm * math.sin(bm)))
            self.detections += 1
        n_false = int(rng.poisson(p.people_false_alarms_per_scan))
        r0, r1 = p.people_sensor_min_range_m, p.people_sensor_range_m
        for _ in range(n_false):
            # uniform over the annular sector: r ~ sqrt(U(r0^2, r1^2))
            r = math.sqrt(rng.uniform(r0 * r0, r1 * r1))
            b = _wrap(rng.uniform(-half, half))
            pts.append((p.people_sensor_x_m + r * math.cos(b), r * math.sin(b)))
        self.false_alarms += n_false
        out = PlanarPoints(t, pts, 'base_link')
        self._pending.append((t + p.people_sensor_latency_s, out))
        self.next_delivery = self._pending[0][0]
        return out

    @property
    def pending(self) -> bool:
        """Whether a scan waits for delivery."""
        return bool(self._pending)

    def ready(self, t: float) -> List[PlanarPoints]:
        """Scans whose delivery time has come by ``t``, oldest first."""
        out = []
        while self._pending and self._pending[0][0] <= t + 1e-9:
            out.append(self._pending.popleft()[1])
        self.next_delivery = self._pending[0][0] if self._pending else math.inf
        return out


__all__ = ['PeopleSensor', 'PeopleSensorParams', 'detection_probability']
