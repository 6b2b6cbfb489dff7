"""Tests of the sources: file readers, LocalData folders, queries, the demo."""
