"""docs/interfaces.md and the code agree on topic names and message types."""

import importlib
import os
import re

from demining_bringup.contract import topics

_DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'interfaces.md')


def _table():
    rows = {}
    for line in open(_DOC, encoding='utf-8'):
        m = re.match(r'\| `(/[^`]+)` \| ([a-z_]+/[A-Za-z0-9]+)', line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def _qos_column():
    rows = {}
    for line in open(_DOC, encoding='utf-8'):
        cells = [c.strip() for c in line.split('|')]
        if len(cells) > 5 and re.fullmatch(r'`/[^`]+`', cells[1]):
            rows[cells[1].strip('`')] = cells[4]
    return rows


def test_the_documented_qos_is_the_wire_qos():
    from demining_bringup.contract import qos
    from demining_bringup.contract.wire import wires
    named = {name: profile for name, profile in vars(qos).items() if name.isupper()}
    w = wires()
    for topic, column in _qos_column().items():
        if topic not in w:
            continue        # /diagnostics: published by the hosts, not a component port
        expected = [name for name, profile in named.items() if profile == w[topic].qos]
        assert column in expected or (column == '(clock)' and 'CLOCK' in expected), \
            f'{topic}: documented {column}, wire uses {expected}'


def test_every_topic_constant_is_documented():
    documented = _table()
    names = [v for k, v in vars(topics).items()
             if k.isupper() and isinstance(v, str) and v.startswith('/')]
    services = {topics.SAFETY_RESET, topics.MISSION_START, topics.MISSION_ABORT}
    doc_text = open(_DOC, encoding='utf-8').read()
    for name in names:
        if name in services:
            assert f'`{name}`' in doc_text, name
        else:
            assert name in documented, f'{name} is missing from docs/interfaces.md'


def test_every_documented_type_exists():
    for topic, type_name in _table().items():
        pkg, msg = type_name.split('/')
        module = importlib.import_module(f'{pkg}.msg')
        assert hasattr(module, msg), f'{topic}: {type_name} does not exist'


def test_every_documented_topic_has_a_constant():
    names = {v for v in vars(topics).values() if isinstance(v, str)}
    for topic in _table():
        assert topic in names, f'{topic} is documented but has no constant in topics.py'
