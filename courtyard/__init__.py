"""Courtyard: smart-community IoT data platform."""

__version__ = "0.1.0"
