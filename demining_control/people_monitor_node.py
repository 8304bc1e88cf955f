"""Node ``people_monitor``: protective zones for people and animals around the vehicle and flail.

Inputs /people/detections (geometry_msgs/PoseArray in base_link, the people sensor) and
/tool/joint_states (whether the flail turns); output /safety/people_zone (std_msgs/String
JSON: zone ``clear``, ``slow`` or ``stop``, reason, nearest person, count) every period, which
the safety supervisor turns into a speed cap or a stop of the vehicle and the rotors
(:mod:`demining_control.safety.people_zones` holds the logic). Inputs are time-stamped on
reception with the node's (sim) clock.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import PlanarPoints, ToolState
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import DiagLevel, ZoneState
from demining_control.safety.people_zones import PeopleZoneParams, PeopleZones

_DIAG_LEVEL = {ZoneState.CLEAR: DiagLevel.OK, ZoneState.SLOW: DiagLevel.WARN,
               ZoneState.STOP: DiagLevel.WARN}


@dataclasses.dataclass(frozen=True)
class PeopleMonitorConfig(PeopleZoneParams):
    """Node parameters: the zones' plus the publication period."""

    period_s: float = param(0.1, 'period of /safety/people_zone, s', min=0.01, max=1.0,
                            read_only=True)


class PeopleMonitorComponent(Component):
    """Confirms people in the detections and publishes the protective zone they are in."""

    name = 'people_monitor'
    params = PeopleMonitorConfig
    inputs = {'detections': Port(topics.PEOPLE_DETECTIONS),
              'tool_state': Port(topics.TOOL_JOINT_STATES)}
    outputs = {'zone': Port(topics.PEOPLE_ZONE)}

    def on_configure(self, params: PeopleMonitorConfig) -> None:
        """Build the zone logic."""
        self.config = params
        self.zones = PeopleZones(params)

    def timers(self) -> Dict[str, float]:
        """The judgement."""
        return {'judge': self.config.period_s}

    def on_detections(self, scan: PlanarPoints, now: float) -> None:
        """One people-sensor scan."""
        self.zones.on_scan(scan, now)

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """The measured tool state."""
        self.zones.on_tool_state(ts, now)

    def judge(self, now: float) -> None:
        """Publish the zone; log every transition."""
        before = len(self.zones.transitions)
        verdict = self.zones.update(now)
        if len(self.zones.transitions) != before:
            text = f'{verdict.reason}'
            (self.log.info if verdict.zone == ZoneState.CLEAR.value else self.log.warning)(text)
        self.emit('zone', verdict)

    def diagnostics(self, now: float) -> Status:
        """Zone, reason, confirmed people, tracks."""
        z = self.zones
        return _DIAG_LEVEL[z.zone], z.reason, {
            'zone': z.zone.value, 'reason': z.reason, 'people': len(z.people(now)),
            'tracks': len(z.tracks), 'nearest_m': f'{z.nearest_m:.1f}',
            'transitions': len(z.transitions)}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``people_monitor_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(PeopleMonitorComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
