"""Settings every test needs, in one place, so that a plain `pytest` works as the README says.

Keras 3 runs on the PyTorch backend here (no TensorFlow); figures draw with Agg (no screen).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")

import sys  # noqa: E402

# tests/ itself on the path, so that every sub-folder imports the shared helpers (torch_reference.py) alike
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
