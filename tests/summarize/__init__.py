"""Tests of the summarizers and the input stage."""
