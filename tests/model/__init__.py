"""Tests of the forest and the explanations."""
