"""Writes every op fixture: runs each tools/reference/ops_<family>.py in turn.

Usage (on a development machine with torch and safetensors from pip; never needed by the build):
    python tools/reference/ops.py
"""
import glob
import os
import runpy

here = os.path.dirname(os.path.abspath(__file__))
for script in sorted(glob.glob(os.path.join(here, "ops_*.py"))):
    print(f"== {os.path.basename(script)}")
    runpy.run_path(script, run_name="__main__")
