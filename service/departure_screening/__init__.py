"""Departure screening: non-procedural migrant-worker risk indicators for departure checkpoints."""

__version__ = "0.1.0"
