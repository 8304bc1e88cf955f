"""How a run ended, the same for both backends (no rclpy)."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional

from demining_bringup.contract.states import MissionState


@dataclasses.dataclass
class RunResult:
    """How a run ended."""

    mission_state: str
    run_dir: str
    summary: Optional[dict]
    wall_time_s: float
    sim_time_s: float = 0.0
    timed_out: bool = False
    failed_nodes: List[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the mission completed and wrote its report."""
        return self.mission_state == MissionState.COMPLETE.value and self.summary is not None


def read_summary(run_dir: Optional[str]) -> Optional[dict]:
    """Return the run folder's summary.json (None when there is none)."""
    if not run_dir:
        return None
    try:
        with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


__all__ = ['RunResult', 'read_summary']
