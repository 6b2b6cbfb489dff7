"""
Where logon data comes from: files, Log Analytics or ADX queries, and the demo.

Each source returns a DataFrame of raw logon events or of a per-account-day
table, as it found it; `msticnb_iforest.summarize.prepare` makes it ready.
"""
