"""Local stand-ins of the cloud: the Alibaba Cloud API emulator and the tools that drive the functions on a laptop.

Importing any of it puts the layer on the path, as Lambda does with ``/opt/python``.
"""

import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parent.parent / "layers" / "alibaba_cloud"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))
