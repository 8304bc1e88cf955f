"""Grid index and item table: box queries return exactly the brute-force rows, in order."""

import numpy as np

from demining_sim.generator import make_item
from demining_sim.spatial import GridIndex, ItemTable


def brute_force_cells(index, x, y, box):
    """Rows whose cell overlaps ``box``, ordered by cell key then row (the index's order)."""
    xmin, xmax, ymin, ymax = box
    ix = ((x - index._x0) // index.cell).astype(int)
    iy = ((y - index._y0) // index.cell).astype(int)
    ix0, ix1 = int((xmin - index._x0) // index.cell), int((xmax - index._x0) // index.cell)
    iy0, iy1 = int((ymin - index._y0) // index.cell), int((ymax - index._y0) // index.cell)
    hit = (ix >= ix0) & (ix <= ix1) & (iy >= iy0) & (iy <= iy1)
    rows = np.nonzero(hit)[0]
    return rows[np.lexsort((rows, (iy * index._nx + ix)[rows]))]


def test_box_queries_match_brute_force_for_one_and_many_cell_rows():
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 30.0, 2000)
    y = rng.uniform(-5.0, 25.0, 2000)
    index = GridIndex(x, y, 1.0)
    for _ in range(300):
        cx, cy = rng.uniform(-3.0, 33.0, 2)
        w, h = rng.uniform(0.0, 6.0, 2) * rng.choice([0.1, 1.0], 2)
        box = (cx - w, cx + w, cy - h, cy + h)
        np.testing.assert_array_equal(index.query_box(*box),
                                      brute_force_cells(index, x, y, box))


def test_near_keeps_the_active_rows_inside_the_box_in_index_order():
    rng = np.random.default_rng(5)
    items = [make_item('can', f'can_{i}', float(px), float(py), 0.05)
             for i, (px, py) in enumerate(rng.uniform(0.0, 20.0, (400, 2)))]
    table = ItemTable(items)
    table.active[::7] = False
    for _ in range(100):
        xmin, ymin = rng.uniform(-2.0, 18.0, 2)
        xmax, ymax = xmin + rng.uniform(0.0, 5.0), ymin + rng.uniform(0.0, 5.0)
        got = table.near(xmin, xmax, ymin, ymax)
        cand = table.index.query_box(xmin, xmax, ymin, ymax)
        inside = (table.active[cand] & (table.x[cand] >= xmin) & (table.x[cand] <= xmax)
                  & (table.y[cand] >= ymin) & (table.y[cand] <= ymax))
        np.testing.assert_array_equal(got, cand[inside])
        expected = set(np.nonzero(table.active & (table.x >= xmin) & (table.x <= xmax)
                                  & (table.y >= ymin) & (table.y <= ymax))[0].tolist())
        assert set(got.tolist()) == expected
