"""
What the analyst sees: plots, pivots, output files and the HTML report.

Every function here takes a finished hunt (`msticnb_iforest.pipeline.Hunt` or
the notebooklet's result, which carry the same attributes) and draws or writes
it; nothing here changes a result.
"""
