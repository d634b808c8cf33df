"""The HTML report rendered by Debian's chromium (headless): the bars are visible pixels of the right length.

Skipped when chromium is not installed (`.ci/run` installs it)."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.report import render as report

from helpers import chromium, colour_pixels, screenshot

pytestmark = pytest.mark.skipif(not chromium(), reason="chromium is not installed")


def _screenshot(tmp_path, name, before, after):
    nodes_before = {"pve1": dict(before, guests=3), "pve2": dict(before, guests=2)}
    nodes_after = {"pve1": dict(after, guests=2), "pve2": dict(after, guests=3)}
    plan = {"schema": "proxlb.balancer/plan/1", "moves": [], "nodes_before": nodes_before, "nodes_after": nodes_after}
    return screenshot(report.html(report.summary(plan)), tmp_path, name, size="1000,700")


def test_bars_are_visible_and_scaled(tmp_path):
    high = {"mem_pct": 80.0, "cpu_pct": 80.0, "disk_pct": 80.0}
    low = {"mem_pct": 20.0, "cpu_pct": 20.0, "disk_pct": 20.0}
    _w, _h, rows = _screenshot(tmp_path, "a", before=high, after=low)
    before_px = colour_pixels(rows, report.BEFORE_COLOUR)
    after_px = colour_pixels(rows, report.AFTER_COLOUR)
    # 2 nodes x 3 resources, bars 14 px high, 80 % and 20 % of 220 px
    assert before_px > 0.8 * 6 * 14 * 176, before_px
    assert after_px > 0.8 * 6 * 14 * 44, after_px
    assert 3.0 < before_px / float(after_px) < 5.0, "bar length follows the value (80 % vs 20 %)"
    # swapping the values swaps the pixel areas: the picture shows the data, not a fixed drawing
    _w, _h, rows = _screenshot(tmp_path, "b", before=low, after=high)
    assert 3.0 < colour_pixels(rows, report.AFTER_COLOUR) / float(colour_pixels(rows, report.BEFORE_COLOUR)) < 5.0
