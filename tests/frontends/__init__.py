"""Tests of the notebooklet, the notebook, the browser and the command line."""
