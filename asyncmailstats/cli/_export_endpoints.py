"""The endpoints ``export`` offers: one subcommand each, with exactly its method's options.

The option and endpoint types are in :mod:`._export_types`; each provider's table is in
its own module.
"""

from __future__ import annotations

from typing import Final

from ._export_emailconsul import emailconsul_endpoints
from ._export_getresponse import getresponse_endpoints
from ._export_postmark import DYNAMIC_STATS, POSTMARK_STATS, postmark_endpoints
from ._export_types import Endpoint, Opt, given

__all__ = ["DYNAMIC_STATS", "ENDPOINTS", "POSTMARK_STATS", "Endpoint", "Opt", "given"]

#: Every endpoint, by provider, in the order ``--help`` lists them.
ENDPOINTS: Final = {
    "postmark": postmark_endpoints(),
    "emailconsul": emailconsul_endpoints(),
    "getresponse": getresponse_endpoints(),
}
