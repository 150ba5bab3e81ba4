"""``python -m gradcheck``: the same as the ``gradcheck`` command."""

import sys

from .cli import main

sys.exit(main())
