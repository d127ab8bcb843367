"""Readings and events → alerts → notifications."""
