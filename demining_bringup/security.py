"""The stack's SROS2 access-control policy, generated from what each component declares.

Every node of ``config/stack.yaml`` gets one enclave ``/demining/<node>`` whose profile allows
exactly its ports (publish its outputs, subscribe its inputs) and its Trigger services (reply),
plus what every lifecycle node of rclpy needs (rosout, parameter events and services, lifecycle
services, /clock, /diagnostics). Two enclaves are not components:

* ``operator_station`` (the remote control): the only enclave allowed to publish the operator's
  e-stop, heartbeat, teleop, deadman, pause and inspection acknowledgements, and the only one
  allowed to *request* ``safety/reset`` and ``safety/resume`` (and the mission's start/abort);
* ``lifecycle_manager``: requests the nodes' lifecycle services.

Under DDS-Security with ``ROS_SECURITY_STRATEGY=Enforce`` everything not allowed is denied, so
no other participant can reset or resume the safety supervisor or fake an e-stop release.
docs/security.md says how to turn the policy into a keystore; ``config/sros2/policy.xml`` is
this module's output (``python -m demining_bringup.security``), checked by a test.
"""

from __future__ import annotations

import sys
from typing import Dict, Iterable, List, Optional, Set, Tuple
from xml.sax.saxutils import escape

from demining_bringup import stack as st
from demining_bringup.contract import topics

#: sros2 policy format of ROS 2 Foxy and later (enclaves), sros2/policy/schemas/policy.xsd.
POLICY_VERSION = '0.2.0'
ENCLAVE_ROOT = '/demining'
OPERATOR_STATION = 'operator_station'
LIFECYCLE_MANAGER = 'lifecycle_manager'

#: What every rclpy node uses (rcl's rosout and parameter events, the parameter services).
_NODE_PUBLISH = ('/rosout', '/parameter_events')
_NODE_SUBSCRIBE = ('/parameter_events', topics.CLOCK)
_PARAMETER_SERVICES = ('~describe_parameters', '~get_parameter_types', '~get_parameters',
                       '~get_type_description', '~list_parameters', '~set_parameters',
                       '~set_parameters_atomically')
#: A managed node's lifecycle services and its transition events (rclpy's LifecycleNode).
_LIFECYCLE_SERVICES = ('~change_state', '~get_state', '~get_available_states',
                       '~get_available_transitions', '~get_transition_graph')
_LIFECYCLE_PUBLISH = ('~transition_event', topics.DIAGNOSTICS)

#: The operator station: the machine's remote control (the simulator stands in for its
#: heartbeat in simulation, so the simulator's enclave may publish that one too).
OPERATOR_PUBLISH = (topics.OPERATOR_HEARTBEAT, topics.OPERATOR_ESTOP, topics.CMD_VEL_TELEOP,
                    topics.OPERATOR_DEADMAN, topics.OPERATOR_PAUSE,
                    topics.SAFETY_INSPECTION_ACK)
OPERATOR_SUBSCRIBE = (topics.SAFETY_STATE, topics.SAFETY_EVENTS, topics.MISSION_STATE,
                      topics.MISSION_PROGRESS, topics.MISSION_REPORT, topics.CMD_VEL_SOURCE,
                      topics.DIAGNOSTICS)
OPERATOR_REQUEST = (topics.SAFETY_RESET, topics.SAFETY_RESUME, topics.MISSION_START,
                    topics.MISSION_ABORT)
#: The lifecycle manager's own services and what it listens to (the mission's end).
MANAGER_REPLY = ('lifecycle_manager/startup', 'lifecycle_manager/shutdown')
MANAGER_SUBSCRIBE = (topics.MISSION_STATE, topics.MISSION_REPORT)


class Profile:
    """One node's grants: topics published and subscribed, services replied and requested."""

    def __init__(self, node: str) -> None:
        """An empty profile of ``node``."""
        self.node = node
        self.publish: Set[str] = set()
        self.subscribe: Set[str] = set()
        self.reply: Set[str] = set()
        self.request: Set[str] = set()

    def add_node_basics(self, lifecycle: bool) -> None:
        """What every (lifecycle) node of rclpy needs."""
        self.publish.update(_NODE_PUBLISH)
        self.subscribe.update(_NODE_SUBSCRIBE)
        self.reply.update(_PARAMETER_SERVICES)
        if lifecycle:
            self.reply.update(_LIFECYCLE_SERVICES)
            self.publish.update(_LIFECYCLE_PUBLISH)


def profiles(stack_path: Optional[str] = None) -> Dict[str, Profile]:
    """Every enclave's profile, by node name, from the stack description."""
    desc = st.load_stack(stack_path)
    out: Dict[str, Profile] = {}
    for spec in desc.nodes:
        cls = st.load_component(spec.module, spec.class_name, spec.name)
        p = Profile(spec.name)
        p.add_node_basics(lifecycle=True)
        p.publish.update(port.topic for port in cls.outputs.values())
        p.subscribe.update(port.topic for port in cls.inputs.values())
        p.reply.update(cls.services.values())
        out[spec.name] = p
    manager = Profile(LIFECYCLE_MANAGER)
    manager.add_node_basics(lifecycle=False)
    manager.reply.update(MANAGER_REPLY)
    manager.subscribe.update(MANAGER_SUBSCRIBE)
    for name in out:
        manager.request.update(f'{name}/{srv[1:]}' for srv in ('~change_state', '~get_state'))
    out[LIFECYCLE_MANAGER] = manager
    station = Profile(OPERATOR_STATION)
    station.add_node_basics(lifecycle=False)
    station.publish.update(OPERATOR_PUBLISH)
    station.subscribe.update(OPERATOR_SUBSCRIBE)
    station.request.update(OPERATOR_REQUEST)
    out[OPERATOR_STATION] = station
    return out


def _block(kind: str, rule: str, names: Iterable[str], tag: str) -> List[str]:
    names = sorted(names)
    if not names:
        return []
    return ([f'          <{kind} {rule}="ALLOW">']
            + [f'            <{tag}>{escape(n)}</{tag}>' for n in names]
            + [f'          </{kind}>'])


def policy_xml(stack_path: Optional[str] = None) -> str:
    """The policy document (sros2 format 0.2.0), enclaves in stack order, then the others."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<!-- Generated by `python -m demining_bringup.security` from config/stack.yaml '
             'and the components\' ports (docs/security.md). Do not edit by hand. -->',
             f'<policy version="{POLICY_VERSION}">', '  <enclaves>']
    for name, p in profiles(stack_path).items():
        lines += [f'    <enclave path="{ENCLAVE_ROOT}/{name}">', '      <profiles>',
                  f'        <profile ns="/" node="{name}">']
        lines += _block('topics', 'publish', p.publish, 'topic')
        lines += _block('topics', 'subscribe', p.subscribe, 'topic')
        lines += _block('services', 'reply', p.reply, 'service')
        lines += _block('services', 'request', p.request, 'service')
        lines += ['        </profile>', '      </profiles>', '    </enclave>']
    lines += ['  </enclaves>', '</policy>', '']
    return '\n'.join(lines)


def grants(xml_text: str) -> Dict[Tuple[str, str], Set[str]]:
    """Parse a policy: ``{(rule, name): {node, ...}}`` for rules publish, subscribe, reply and
    request (ALLOW only; what a test asks "who may ...")."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml_text)
    out: Dict[Tuple[str, str], Set[str]] = {}
    for profile in root.iter('profile'):
        node = profile.get('node', '')
        for group in list(profile):
            for rule in ('publish', 'subscribe', 'reply', 'request'):
                if group.get(rule) == 'ALLOW':
                    for item in group:
                        out.setdefault((rule, (item.text or '').strip()), set()).add(node)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Print the policy (``python -m demining_bringup.security > config/sros2/policy.xml``)."""
    sys.stdout.write(policy_xml())
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
