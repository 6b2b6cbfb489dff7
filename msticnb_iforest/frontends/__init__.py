"""
The ways in: the notebooklet, its outlier browser, the notebook's helpers and the CLI.

Each front end gathers its input and options, calls `msticnb_iforest.pipeline.hunt`
and hands the result to `msticnb_iforest.present`. Nothing below imports from here.
"""
