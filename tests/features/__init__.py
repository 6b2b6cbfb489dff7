"""Tests of the feature sets."""
