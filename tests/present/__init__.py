"""Tests of what the analyst sees: plots, report, output files, pivots."""
