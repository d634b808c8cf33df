"""pytest: make the collection importable by its Ansible name from this checkout."""

from simulator._importpath import ensure_collection_importable

ensure_collection_importable()
