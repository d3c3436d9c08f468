"""Kubo daemon fixtures (see tests/conftest.py)."""
