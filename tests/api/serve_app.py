"""Run the API as its own process for tests: `python -m tests.api.serve_app DATABASE_URL PORT`.

The product runs `courtyard api`; this is the same `api.cli.serve` with the tests' rule service.
"""

from __future__ import annotations

import sys

from api.cli import serve
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api.rule_service import ThresholdRuleService

if __name__ == "__main__":
    url, port = sys.argv[1], int(sys.argv[2])
    sys.exit(
        serve(
            ApiSettings(),
            StoreSettings(url=url),
            host="127.0.0.1",
            port=port,
            rule_service=ThresholdRuleService(url),
            log_level="warning",
        )
    )
