"""``python -m devstack.cli ARGS``: the admin CLI (ecm.cli) against the local stack, with
its endpoint and table names (``make user``, ``make provider``, ``make reindex``)."""

from __future__ import annotations

import os
import sys

from devstack.environment import use_local_environment
from ecm.cli import main as cli


def main() -> int:
    aws_port = int(os.environ.get("AWS_PORT", "4566"))
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
    )
    use_local_environment(aws_port)

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
