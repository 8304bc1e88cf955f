"""The SROS2 policy (config/sros2/policy.xml, docs/security.md): generated from the stack, the
reset/resume services and the operator's inputs reserved to their owners, and rcl failing closed
when security is enforced without credentials. DDS-Security itself (the keystore, signed
permissions, a denied request) cannot be exercised here: the PyPI ROS 2 wheels ship neither
sros2 nor the DDS-Security plugins configured (docs/security.md)."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from demining_bringup import security
from demining_bringup.contract import topics

POLICY = os.path.join(os.path.dirname(__file__), '..', '..', 'config', 'sros2', 'policy.xml')


@pytest.fixture(scope='module')
def text():
    return open(POLICY, encoding='utf-8').read()


def test_the_committed_policy_is_the_generated_one(text):
    assert text == security.policy_xml(), \
        'regenerate: python -m demining_bringup.security > config/sros2/policy.xml'


def test_the_policy_has_the_sros2_structure(text):
    root = ET.fromstring(text)
    assert root.tag == 'policy' and root.get('version') == security.POLICY_VERSION
    assert [c.tag for c in root] == ['enclaves']
    for enclave in root.find('enclaves'):
        assert enclave.tag == 'enclave' and enclave.get('path').startswith('/demining/')
        (profiles,) = list(enclave)
        for profile in profiles:
            assert profile.tag == 'profile' and profile.get('ns') == '/'
            for group in profile:
                rules = set(group.keys())
                assert group.tag in ('topics', 'services') and len(rules) == 1
                assert rules <= {'publish', 'subscribe', 'reply', 'request'}
                assert all(v == 'ALLOW' for v in group.attrib.values())
                assert all(item.tag == group.tag[:-1] and item.text for item in group)


def test_only_the_operator_station_may_reset_resume_or_press_the_operator_inputs(text):
    g = security.grants(text)
    for service in (topics.SAFETY_RESET, topics.SAFETY_RESUME):
        assert g[('reply', service)] == {'safety_supervisor'}
        assert g[('request', service)] == {security.OPERATOR_STATION}
    for topic in (topics.OPERATOR_ESTOP, topics.CMD_VEL_TELEOP, topics.OPERATOR_DEADMAN,
                  topics.OPERATOR_PAUSE, topics.SAFETY_INSPECTION_ACK):
        assert g[('publish', topic)] == {security.OPERATOR_STATION}, topic
    # the simulator (or, with Gazebo, the sensor emulator) stands in for the station's
    # heartbeat: neither is deployed on a vehicle
    assert g[('publish', topics.OPERATOR_HEARTBEAT)] == {security.OPERATOR_STATION,
                                                         'simulator', 'sensor_emulator'}
    # the actuators: only the safety supervisor commands them, only the mux feeds it
    assert g[('publish', topics.CMD_VEL)] == {'safety_supervisor'}
    assert g[('publish', topics.TOOL_COMMAND)] == {'safety_supervisor'}
    assert g[('publish', topics.CMD_VEL_MUX)] == {'cmd_mux'}
    assert g[('subscribe', topics.CMD_VEL_MUX)] == {'safety_supervisor'}
    for service in topics.SERVICES:
        assert len(g[('reply', service)]) == 1, service


@pytest.mark.timeout(60)
def test_enforced_security_without_credentials_refuses_to_start_a_node(tmp_path):
    pytest.importorskip('rclpy')
    env = dict(os.environ, ROS_SECURITY_ENABLE='true', ROS_SECURITY_STRATEGY='Enforce',
               ROS_SECURITY_KEYSTORE=str(tmp_path / 'no_keystore'))
    code = ('import rclpy\n'
            'rclpy.init()\n'
            'rclpy.create_node("intruder")\n'
            'print("STARTED")\n')
    proc = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                          text=True, timeout=50)
    assert proc.returncode != 0 and 'STARTED' not in proc.stdout
    assert 'SECURITY ERROR' in proc.stderr
