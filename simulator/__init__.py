"""A Proxmox VE API simulator that speaks real HTTPS, for tests, demos and what-if runs."""

from simulator._importpath import ensure_collection_importable

ensure_collection_importable()
