"""Pre-flight check of a simulated mission: plan the coverage before anything starts.

The coverage planner component, configured with the node's resolved parameters, plans from the
simulator's start pose exactly as it will once the first pose arrives. A plan it refuses (an
area it cannot plan, a plan that would leave the geofence the safety supervisor enforces) ends
the CLI with that one line and exit 2 instead of handing the machine a mission the supervisor
will stop. On a real machine (no simulator in the stack) the start pose is not known before the
first pose; the planner refuses at run time then, and the mission manager ends the mission with
the reason (/coverage/status).
"""

from __future__ import annotations

from typing import List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.datatypes import PlanStatus, VehicleState
from demining_bringup.contract.states import PlanState
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_bringup.stack import ConfigError, ResolvedNode

#: The stack's node names the check needs.
PLANNER_NODE = 'coverage_planner'
SIMULATOR_NODE = 'simulator'


def preflight(nodes: List[ResolvedNode]) -> Optional[PlanStatus]:
    """Plan from the simulated start; raise ConfigError when the planner refuses.

    Returns the planner's status (None when the stack has no simulator or no planner).
    """
    by_name = {n.name: n for n in nodes}
    sim, planner = by_name.get(SIMULATOR_NODE), by_name.get(PLANNER_NODE)
    if sim is None or planner is None:
        return None
    from demining_bringup.contract.sdf import load_world
    from demining_sim.worlds_index import find_world
    world = load_world(find_world(str(sim.parameters.get('world', ''))))
    x, y, yaw = world.vehicle_start
    statuses: List[PlanStatus] = []

    def sink(port: str, value) -> None:
        if port == 'status':
            statuses.append(value)

    rt = ComponentRuntime(planner.component(), name=planner.name, sink=sink, log=RecordingLog())
    rt.configure(planner.parameters)
    rt.activate(0.0)
    rt.deliver('pose', VehicleState(0.0, x, y, yaw), 0.0)
    rt.shutdown(0.0)
    status = statuses[-1] if statuses else None
    if status is not None and PlanState(status.state) is PlanState.REFUSED:
        raise ConfigError(f'{topics.COVERAGE_STATUS}: {status.reason}')
    return status


__all__ = ['preflight']
