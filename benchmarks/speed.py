"""Speed of minirnn against PyTorch CPU: layers' forward + backward, start-up, memory, char-LM training.

    python benchmarks/speed.py                      # everything (about 10-20 minutes on 2 cores)
    python benchmarks/speed.py --sizes small medium --train-steps 0 --no-memory
    python benchmarks/speed.py --help

Prints a table of milliseconds and ratios to torch, writes benchmarks/results/speed.json and speed.png. The code is
``minirnn/bench.py`` (also ``minirnn bench``).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minirnn.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
