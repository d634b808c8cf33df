"""Make ``ansible_collections.proxlb.balancer`` importable from a plain checkout.

The engine's modules import each other by their collection path, as Ansible requires. Outside Ansible
(the simulator, pytest, benchmarks) the checkout is not under an ``ansible_collections/proxlb/balancer``
directory, so alias that package name to the repository root instead of copying or symlinking it.
"""

import importlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_collection_importable():
    try:
        importlib.import_module("ansible_collections.proxlb.balancer.plugins.module_utils.common.errors")
        return
    except ImportError:
        pass
    parent = sys.modules.get("ansible_collections")
    if parent is None:
        parent = types.ModuleType("ansible_collections")
        parent.__path__ = []
        sys.modules["ansible_collections"] = parent
    namespace = types.ModuleType("ansible_collections.proxlb")
    namespace.__path__ = []
    collection = types.ModuleType("ansible_collections.proxlb.balancer")
    collection.__path__ = [str(ROOT)]
    namespace.balancer = collection
    parent.proxlb = namespace
    sys.modules["ansible_collections.proxlb"] = namespace
    sys.modules["ansible_collections.proxlb.balancer"] = collection
