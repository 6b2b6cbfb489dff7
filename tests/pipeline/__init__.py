"""Tests of hunt() end to end."""
