"""Tests of the shared vocabulary: names, account keys, parameters, schema."""
