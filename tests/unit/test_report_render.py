"""The HTML report rendered by Debian's chromium (headless): the bars are visible pixels of the right length.

Skipped when chromium is not installed (`.ci/run` installs it)."""

import os
import shutil
import struct
import subprocess
import zlib

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.report import render as report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed")


def read_png(path):
    """(width, height, rows of RGB tuples) from an 8-bit RGB/RGBA non-interlaced PNG, as chromium writes."""
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def colour_pixels(rows, hex_colour):
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for row in rows for px in row if all(abs(a - b) <= 6 for a, b in zip(px, want)))


def screenshot(tmp_path, name, before, after):
    nodes_before = {"pve1": dict(before, guests=3), "pve2": dict(before, guests=2)}
    nodes_after = {"pve1": dict(after, guests=2), "pve2": dict(after, guests=3)}
    plan = {"schema": "proxlb.balancer/plan/1", "moves": [], "nodes_before": nodes_before, "nodes_after": nodes_after}
    page = tmp_path / (name + ".html")
    page.write_text(report.html(report.summary(plan)))
    png = tmp_path / (name + ".png")
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--window-size=1000,700", "--screenshot=%s" % png,
                    "file://%s" % page], capture_output=True, timeout=120, check=False,
                   env=dict(os.environ, HOME=str(tmp_path)))
    assert png.exists(), "chromium wrote no screenshot"
    return read_png(str(png))


def test_bars_are_visible_and_scaled(tmp_path):
    high = {"mem_pct": 80.0, "cpu_pct": 80.0, "disk_pct": 80.0}
    low = {"mem_pct": 20.0, "cpu_pct": 20.0, "disk_pct": 20.0}
    _w, _h, rows = screenshot(tmp_path, "a", before=high, after=low)
    before_px = colour_pixels(rows, report.BEFORE_COLOUR)
    after_px = colour_pixels(rows, report.AFTER_COLOUR)
    # 2 nodes x 3 resources, bars 14 px high, 80 % and 20 % of 220 px
    assert before_px > 0.8 * 6 * 14 * 176, before_px
    assert after_px > 0.8 * 6 * 14 * 44, after_px
    assert 3.0 < before_px / float(after_px) < 5.0, "bar length follows the value (80 % vs 20 %)"
    # swapping the values swaps the pixel areas: the picture shows the data, not a fixed drawing
    _w, _h, rows = screenshot(tmp_path, "b", before=low, after=high)
    assert 3.0 < colour_pixels(rows, report.AFTER_COLOUR) / float(colour_pixels(rows, report.BEFORE_COLOUR)) < 5.0
