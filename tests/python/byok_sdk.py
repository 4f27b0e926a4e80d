"""What the OpenAI SDK scripts share: the expectations the test passes, a client pointed at
byok, and a check that ends the script at the first failure.

Environment: OPENAI_BASE_URL (byok's base URL, e.g. http://127.0.0.1:PORT/v1) and BYOK_EXPECT
(JSON, what the script must see).
"""

import json
import os
import sys

from openai import OpenAI


def expectations():
    """The test's BYOK_EXPECT, parsed."""
    return json.loads(os.environ["BYOK_EXPECT"])


def openai_client():
    """The official SDK's client for byok: no retries (a failure must show), a minute's wait."""
    return OpenAI(
        base_url=os.environ["OPENAI_BASE_URL"],
        api_key="byok-ignores-this-without-a-client-key",
        max_retries=0,
        timeout=60,
    )


def check(condition, what):
    """Ends the script with `FAILED: what` on stderr unless `condition` holds."""
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
