"""Mission recordings: every topic of the contract to an MCAP file in the rosbag2 layout.

``demine run --record`` writes ``RUN_DIR/mission.mcap``: profile ``ros2``, one schema per
message type (encoding ``ros2msg``: the message definition with its dependencies, the text
rosbag2's MCAP storage plugin writes), one channel per topic (``cdr``: the ROS 2 serialised
bytes, ``rclpy.serialization``), log time = the message's simulated (or machine) time. Foxglove
and the ``mcap`` tools read it; ``ros2 bag info/play`` with the MCAP storage plugin too.

* ``--backend dds``: :class:`RecorderNode` subscribes to every topic of the contract with the
  topic's own QoS and takes the serialised bytes as they arrive (``raw=True``).
* ``--backend core``: the deterministic host hands the recorder every message it encodes
  (:meth:`demining_bringup.hosts.deterministic.DeterministicHost.record_with`).

The recorder keeps its own CPU time (:attr:`McapRecorder.cpu_s`), so a run can print the
recording's cost per simulated second.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any, Dict, List, Optional, Tuple

from mcap.writer import CompressionType, Writer

#: File name of the recording in a run folder.
RECORDING_FILE = 'mission.mcap'
#: The separator between message definitions in a ``ros2msg`` schema (as rosbag2 writes it).
_SEPARATOR = '=' * 80
#: rosidl type names that the .msg syntax spells differently.
_MSG_NAMES = {'boolean': 'bool', 'octet': 'byte', 'double': 'float64', 'float': 'float32'}
_NS_PER_S = 1_000_000_000


def _msg_class(name: str) -> type:
    """The Python class of ``pkg/Type`` (or ``pkg/msg/Type``)."""
    pkg, _, typ = name.replace('/msg/', '/').partition('/')
    return getattr(importlib.import_module(f'{pkg}.msg'), typ)


def _field_type(rosidl: str) -> Tuple[str, Optional[str]]:
    """(.msg spelling, nested type name or None) of a rosidl field type."""
    bound = ''
    base = rosidl
    if base.startswith('sequence<'):
        inner = base[len('sequence<'):-1]
        if ',' in inner:
            inner, limit = (p.strip() for p in inner.split(','))
            bound = f'[<={limit}]'
        else:
            bound = '[]'
        base = inner
    elif base.endswith(']') and '[' in base:
        base, _, rest = base.partition('[')
        bound = '[' + rest
    if base.startswith('string<'):
        base = 'string<=' + base[len('string<'):-1]
    nested = base if '/' in base else None
    return _MSG_NAMES.get(base, base) + bound, nested


def type_name(msg_type: type) -> str:
    """``pkg/msg/Type`` of a message class."""
    return f'{msg_type.__module__.split(".")[0]}/msg/{msg_type.__name__}'


def msgdef(msg_type: type) -> str:
    """The ``ros2msg`` schema text of a message class: its fields, then each dependency once."""
    parts: List[str] = []
    seen: set = set()
    order: List[Tuple[str, type]] = [('', msg_type)]
    while order:
        name, cls = order.pop(0)
        lines = []
        for field, rosidl in cls.get_fields_and_field_types().items():
            spelled, nested = _field_type(rosidl)
            lines.append(f'{spelled} {field}')
            if nested and nested not in seen:
                seen.add(nested)
                order.append((nested, _msg_class(nested)))
        text = '\n'.join(lines) + '\n'
        parts.append(text if not name else f'{_SEPARATOR}\nMSG: {name}\n{text}')
    return ''.join(parts)


class McapRecorder:
    """Writes serialised messages of the contract's topics into one MCAP file."""

    def __init__(self, path: str) -> None:
        """Create ``path`` (the run folder must exist)."""
        self.path = path
        self._file = open(path, 'wb')
        self._writer = Writer(self._file, compression=CompressionType.ZSTD)
        self._writer.start(profile='ros2', library='demining')
        self._schemas: Dict[type, int] = {}
        self._channels: Dict[str, int] = {}
        self._sequence = 0
        self.messages = 0
        self.cpu_s = 0.0

    def _channel(self, topic: str, msg_type: type) -> int:
        channel = self._channels.get(topic)
        if channel is None:
            schema = self._schemas.get(msg_type)
            if schema is None:
                schema = self._writer.register_schema(
                    name=type_name(msg_type), encoding='ros2msg',
                    data=msgdef(msg_type).encode())
                self._schemas[msg_type] = schema
            name = topic if topic.startswith('/') else '/' + topic
            channel = self._writer.register_channel(topic=name, message_encoding='cdr',
                                                    schema_id=schema)
            self._channels[topic] = channel
        return channel

    def write_bytes(self, topic: str, msg_type: type, data: bytes, stamp_s: float) -> None:
        """Record one serialised message at ``stamp_s`` (simulated or machine time)."""
        t0 = time.process_time()
        channel = self._channel(topic, msg_type)
        t_ns = max(0, int(stamp_s * _NS_PER_S))
        self._sequence += 1
        self._writer.add_message(channel_id=channel, log_time=t_ns, data=data,
                                 publish_time=t_ns, sequence=self._sequence)
        self.messages += 1
        self.cpu_s += time.process_time() - t0

    def write_message(self, topic: str, msg: Any, stamp_s: float) -> None:
        """Serialise a ROS message (rclpy's CDR) and record it."""
        from rclpy.serialization import serialize_message
        t0 = time.process_time()
        data = serialize_message(msg)
        self.cpu_s += time.process_time() - t0
        self.write_bytes(topic, type(msg), data, stamp_s)

    def close(self) -> None:
        """Write the summary section (statistics, indexes) and close the file."""
        if self._file is None:
            return
        t0 = time.process_time()
        self._writer.finish()
        self._file.close()
        self._file = None
        os.chmod(self.path, 0o644)
        self.cpu_s += time.process_time() - t0

    def cost_line(self, sim_s: float) -> str:
        """One line: messages, size and CPU per simulated second."""
        size = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        per = 1e3 * self.cpu_s / sim_s if sim_s > 0 else 0.0
        return (f'recording {os.path.basename(self.path)}: {self.messages} messages on '
                f'{len(self._channels)} topics, {size / 1e6:.1f} MB, {per:.2f} ms CPU per '
                'simulated second')


def recorder_node(recorder: McapRecorder, context: Any) -> Any:
    """A node subscribing to every topic of the contract, writing the raw bytes (DDS)."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from demining_bringup.contract.wire import wires

    node = Node('demine_recorder', context=context,
                parameter_overrides=[Parameter('use_sim_time', value=True)])
    w = wires()
    for topic in w.topics():
        wire = w[topic]

        def on_message(data: bytes, topic: str = topic, msg_type: type = wire.msg_type) -> None:
            now = node.get_clock().now().nanoseconds / _NS_PER_S
            recorder.write_bytes(topic, msg_type, data, now)
        node.create_subscription(wire.msg_type, topic, on_message, wire.qos, raw=True)
    return node


__all__ = ['McapRecorder', 'RECORDING_FILE', 'msgdef', 'recorder_node', 'type_name']
