"""Node ``coverage_planner``: plans boustrophedon coverage once it has the area and a pose.

Input /localization/odometry; output /coverage/path (latched).
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.area import HazardArea, load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import VehicleState
from demining_bringup.contract.states import DiagLevel
from demining_control.coverage.planner import (CoverageParams, CoveragePlan, PlanningError,
                                               plan_coverage)


@dataclasses.dataclass(frozen=True)
class CoveragePlannerConfig(CoverageParams):
    """Node parameters: the planner's plus the hazard area file."""

    area_file: str = vehicle_params.area_file()


class CoveragePlannerComponent(Component):
    """Plans once, from the first pose; the path is latched."""

    name = 'coverage_planner'
    params = CoveragePlannerConfig
    inputs = {'pose': Port(topics.LOCALIZATION)}
    outputs = {'path': Port(topics.COVERAGE_PATH)}

    def on_configure(self, params: CoveragePlannerConfig) -> None:
        """Load the hazard area."""
        self.config = params
        self.area: HazardArea = load_area(params.area_file)
        self.plan: Optional[CoveragePlan] = None
        self.error = ''
        self.log.info(f'area {self.area.name!r}: waiting for the first pose')

    def on_activate(self, now: float) -> None:
        """Publish the plan again if there is one (latched)."""
        if self.plan is not None:
            self.emit('path', self.plan.waypoints)

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """Plan from the first pose (only while active: the path must be published)."""
        if self.plan is not None or self.error:
            return
        try:
            self.plan = plan_coverage(self.area.field, self.area.exclusion_zones,
                                      (pose.x, pose.y), self.config)
        except PlanningError as exc:
            self.error = str(exc)
            self.log.error(f'cannot plan coverage: {exc}')
            return
        self.emit('path', self.plan.waypoints)
        self.log.info(f'coverage path: {self.plan.summary()}')

    def diagnostics(self, now: float) -> Status:
        """The plan's figures, or why there is none."""
        if self.error:
            return DiagLevel.ERROR, self.error, {}
        if self.plan is None:
            return DiagLevel.WARN, 'waiting for the first pose', {}
        p = self.plan
        return DiagLevel.OK, 'path published', {
            'lanes': len(p.lanes), 'waypoints': len(p.waypoints),
            'length_m': f'{p.length_m:.1f}', 'work_length_m': f'{p.work_length_m:.1f}',
            'expected_time_s': f'{p.expected_time_s:.0f}',
            'transit_over_unprocessed_m': f'{p.transit_over_unprocessed_m:.1f}'}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``coverage_planner_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(CoveragePlannerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
