"""Dev chain fixtures (see tests/conftest.py)."""
