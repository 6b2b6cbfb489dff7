"""
Old name of the EVTX reader, which is now `msticnb_iforest.sources.readers.evtx`.

Importing ``msticnb_iforest.sources.evtx`` gives that module itself (the same
object, so patching either name patches both); new code imports the new name.
"""

import importlib
import sys

sys.modules[__name__] = importlib.import_module(".readers.evtx", __package__)
