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
    by_resolved = {topics.resolved(t): t for t in topics.TOPICS}
    for topic, column in _qos_column().items():
        topic = by_resolved.get(topic, topic)
        if topic not in w:
            continue        # /diagnostics: published by the hosts, not a component port
        expected = [name for name, profile in named.items() if profile == w[topic].qos]
        assert column in expected or (column == '(clock)' and 'CLOCK' in expected), \
            f'{topic}: documented {column}, wire uses {expected}'


def test_every_topic_constant_is_documented():
    documented = _table()
    doc_text = open(_DOC, encoding='utf-8').read()
    for name in topics.SERVICES:
        assert f'`{topics.resolved(name)}`' in doc_text, name
    for name in topics.TOPICS:
        assert topics.resolved(name) in documented, f'{name} is missing from docs/interfaces.md'


def test_every_documented_type_exists():
    for topic, type_name in _table().items():
        pkg, msg = type_name.split('/')
        module = importlib.import_module(f'{pkg}.msg')
        assert hasattr(module, msg), f'{topic}: {type_name} does not exist'


def test_every_documented_topic_has_a_constant():
    names = {topics.resolved(v) for v in topics.TOPICS}
    for topic in _table():
        assert topic in names, f'{topic} is documented but has no constant in topics.py'
