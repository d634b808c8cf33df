# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node names in the order people count them: pve1, pve2, pve10 (not pve1, pve10, pve2)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_DIGITS = re.compile(r"(\d+)")


def natural_key(name):
    """Sort key: runs of digits compare as numbers, the rest as text (case-insensitive, then exact)."""
    text = str(name)
    parts = tuple((0, int(p), p) if p.isdigit() else (1, 0, p.lower()) for p in _DIGITS.split(text) if p)
    return parts, text


def natural_sorted(names):
    return sorted(names, key=natural_key)
