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
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mcap.writer import CompressionType, Writer

#: File name of the recording in a run folder.
RECORDING_FILE = 'mission.mcap'
#: The separator between message definitions in a ``ros2msg`` schema (as rosbag2 writes it).
_SEPARATOR = '=' * 80
#: rosidl type names that the .msg syntax spells differently.
_MSG_NAMES = {'boolean': 'bool', 'octet': 'byte', 'double': 'float64', 'float': 'float32'}
_NS_PER_S = 1_000_000_000
#: Bytes of an MCAP file's magic and header record (a failure within them: not an MCAP file).
_MCAP_HEADER_BYTES = 64
#: Queue depth of the DDS recorder's subscriptions (10 s of the busiest 100 Hz topic).
RECORDER_DEPTH = 1000


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


def _deep(qos: Any) -> Any:
    """The topic's QoS (reliability, durability: compatible with its publishers) with a queue
    deep enough that a busy executor does not lose messages before the recorder takes them."""
    from rclpy.qos import HistoryPolicy, QoSProfile
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=max(qos.depth, RECORDER_DEPTH),
                      reliability=qos.reliability, durability=qos.durability)


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
        node.create_subscription(wire.msg_type, topic, on_message, _deep(wire.qos), raw=True)
    return node


def _read_errors() -> Tuple[type, ...]:
    """What a damaged MCAP file raises in the ``mcap`` reader (and zstandard, struct below)."""
    import struct
    from mcap.exceptions import McapError
    errors: List[type] = [OSError, McapError, ValueError, EOFError, AssertionError,
                          struct.error, KeyError, IndexError]
    try:
        import zstandard
        errors.append(zstandard.ZstdError)
    except ImportError:             # the mcap reader then cannot read ZSTD chunks at all
        pass
    return tuple(errors)


def iter_recording(path: str, topics_wanted: Optional[List[str]] = None,
                   status: Optional[Dict[str, Any]] = None) -> Iterator[Tuple[Any, Any]]:
    """(channel, message) of a recording in file order; also of one a kill cut off.

    A whole file is read through its index (the summary section). A recording whose writer
    was killed has no summary and ends inside a chunk: it is read from the start, record by
    record, every complete chunk kept, and the cut-off tail is dropped; ``status`` (when given)
    then gets ``truncated`` True.

    :raises ConfigError: when the file is not an MCAP recording at all.
    """
    from mcap.reader import NonSeekingReader, SeekingReader
    from demining_bringup.contract.errors import ConfigError
    errors = _read_errors()
    want = None if topics_wanted is None else ['/' + t.lstrip('/') for t in topics_wanted]
    try:
        f = open(path, 'rb')
    except OSError as exc:
        raise ConfigError(f'{path}: cannot open the recording ({exc.strerror})') from None
    with f:
        try:
            summary = SeekingReader(f).get_summary()
        except errors:
            summary = None
        f.seek(0)
        if status is not None:
            status['truncated'] = summary is None
        if summary is not None:
            try:
                for _, channel, message in SeekingReader(f).iter_messages(topics=want):
                    yield channel, message
            except errors as exc:
                raise ConfigError(f'{path}: not a readable MCAP recording '
                                  f'({type(exc).__name__}: {exc})') from None
            return
        got = 0
        try:
            for _, channel, message in NonSeekingReader(f).iter_messages(
                    topics=want, log_time_order=False):
                got += 1
                yield channel, message
        except errors as exc:
            if got == 0 and f.tell() <= _MCAP_HEADER_BYTES:
                raise ConfigError(f'{path}: not a readable MCAP recording '
                                  f'({type(exc).__name__}: {exc})') from None
            # the tail a kill cut off: every whole chunk before it was read


def iter_values(path: str, topics_wanted, status: Optional[Dict[str, Any]] = None,
                ) -> Iterator[Tuple[str, float, Any]]:
    """(topic, stamp, plain value) of each message of ``topics_wanted``, in file order.

    Each message is deserialised with rclpy into the contract's message type and decoded by
    the contract's wire, as a subscribing node would; malformed ones are skipped. A recording
    cut off by a kill gives what its complete chunks hold (:func:`iter_recording`: ``status``).

    :raises ConfigError: when the file is not a readable MCAP recording.
    """
    from rclpy.serialization import deserialize_message
    from demining_bringup.contract.codec import DecodeError
    from demining_bringup.contract.wire import wires
    w = wires()
    want = {'/' + t.lstrip('/'): t for t in topics_wanted}
    for channel, message in iter_recording(path, list(topics_wanted), status):
        topic = want[channel.topic]
        wire = w[topic]
        try:
            value = wire.decode(deserialize_message(message.data, wire.msg_type))
        except (DecodeError, ValueError, TypeError):
            continue
        yield topic, message.log_time / _NS_PER_S, value


def read_recording(path: str, topics_wanted, status: Optional[Dict[str, Any]] = None,
                   ) -> Dict[str, List[Tuple[float, Any]]]:
    """The plain values of ``topics_wanted`` in a recording: ``{topic: [(stamp, value)]}``,
    each topic's in time order (:func:`iter_values`).

    :raises ConfigError: when the file is not a readable MCAP recording.
    """
    out: Dict[str, List[Tuple[float, Any]]] = {t: [] for t in topics_wanted}
    for topic, stamp, value in iter_values(path, topics_wanted, status):
        out[topic].append((stamp, value))
    for values in out.values():
        values.sort(key=lambda sv: sv[0])
    return out


def topic_counts(path: str) -> Dict[str, int]:
    """Messages per topic of a recording (also of one a kill cut off), by reading it."""
    counts: Dict[str, int] = {}
    for channel, _ in iter_recording(path):
        counts[channel.topic] = counts.get(channel.topic, 0) + 1
    return counts


def render_from_recording(path: str, record: Any, out_png: str,
                          status: Optional[Dict[str, Any]] = None,
                          out_map_png: str = '') -> Dict[str, int]:
    """Redraw ``record``'s coverage image from a recording's processed ground, path, track
    and detections (what was on the wire), into ``out_png``, and (``out_map_png``) the last
    /mine_map with them; return message counts used (``status`` as :func:`read_recording`'s).

    ``record`` (a :class:`demining_bringup.report.MissionRecord`) gives the area and origin.
    """
    import dataclasses
    import math
    import numpy as np
    from demining_bringup.contract import topics
    from demining_bringup.report import render_coverage_png, render_mine_map_png
    got = read_recording(path, (topics.COVERAGE_PROCESSED, topics.COVERAGE_PATH,
                                topics.LOCALIZATION, topics.DETECTIONS, topics.MINE_MAP), status)
    changes: Dict[str, Any] = {}
    if got[topics.COVERAGE_PROCESSED]:
        g = got[topics.COVERAGE_PROCESSED][-1][1]
        changes.update(processed=np.asarray(g.values) == 100, processed_origin_x=g.origin_x,
                       processed_origin_y=g.origin_y, processed_resolution=g.resolution)
    if got[topics.COVERAGE_PATH]:
        path = np.asarray(got[topics.COVERAGE_PATH][-1][1], dtype=float)
        # N x 3 on the wire (x, y and the facing yaw: docs/interfaces.md), N x 2 drawn
        changes['planned_path'] = (path[:, :2] if path.ndim == 2 and path.shape[1] >= 2
                                   else path.reshape(-1, 2))
    changes['trajectory'] = np.asarray([(s.x, s.y) for _, s in got[topics.LOCALIZATION]],
                                       dtype=float).reshape(-1, 2)
    if got[topics.DETECTIONS]:
        changes['detections'] = list(got[topics.DETECTIONS][-1][1].items)
    drawn = dataclasses.replace(record, **changes)
    render_coverage_png(drawn, out_png)
    maps = [g for _, g in got[topics.MINE_MAP]
            if np.asarray(g.values).ndim == 2 and np.asarray(g.values).size
            and math.isfinite(g.resolution) and g.resolution > 0.0]
    if out_map_png and maps:
        g = maps[-1]                          # the last map there is to draw
        render_mine_map_png(drawn, g.values, g.origin_x, g.origin_y, g.resolution, out_map_png)
    return {t: len(v) for t, v in got.items()}


__all__ = ['McapRecorder', 'RECORDING_FILE', 'iter_recording', 'iter_values', 'msgdef',
           'read_recording', 'recorder_node', 'render_from_recording', 'topic_counts',
           'type_name']
