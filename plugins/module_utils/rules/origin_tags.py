# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``plb_origin_<node>`` tag: where a guest drained for maintenance came from (docs/maintenance.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ORIGIN = "plb_origin_"


def origin_of(tags):
    """The node a guest's ``plb_origin_<node>`` tag names, or None."""
    for tag in tags or ():
        if tag.lower().startswith(ORIGIN) and len(tag) > len(ORIGIN):
            return tag[len(ORIGIN):]
    return None


def with_origin(tags, node):
    """The guest's tags with its origin set to ``node`` (any other origin tag replaced)."""
    kept = [t for t in tags or () if not t.lower().startswith(ORIGIN)]
    return sorted(set(kept + [ORIGIN + node]))


def without_origin(tags):
    return sorted(set(t for t in tags or () if not t.lower().startswith(ORIGIN)))
