"""Tests of grouping outliers into incidents."""
