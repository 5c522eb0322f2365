"""Run one README block as a program, with the providers' default URLs at the fakes.

``python run_block.py FILE``: the URLs come from ``AMS_README_POSTMARK_URL``,
``AMS_README_EMAILCONSUL_URL`` and ``AMS_README_GETRESPONSE_URL``, and become the default
``base_url`` of the session's factories, so a block written for the real services (no
``base_url=``) talks to the fakes the test started.
"""

from __future__ import annotations

import os
import runpy
import sys

from asyncmailstats import Session

for provider in ("postmark", "emailconsul", "getresponse"):
    url = os.environ[f"AMS_README_{provider.upper()}_URL"]
    defaults = getattr(Session, provider).__kwdefaults__
    defaults["base_url"] = url

runpy.run_path(sys.argv[1], run_name="__main__")
