"""``gridgen serve [--host H] [--port P] [--database URL]``: run the web service (uvicorn)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to ``subparsers`` and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the web service (API, OGC features, vector tiles, viewer)",
        description="Run the gridgen web service. Settings come from GRIDGEN_* environment "
        "variables (GRIDGEN_ADMIN_KEY, GRIDGEN_UPLOAD_LIMIT_BYTES, ...); options override them.",
    )
    _options(parser)
    parser.set_defaults(run=run)
    return parser


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000)")
    parser.add_argument(
        "--database",
        default=None,
        help="sqlite:///PATH (default sqlite:///./gridgen.db) or postgresql://user@host:port/db",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")


def run(args: argparse.Namespace) -> int:
    """Start the service with ``args`` and return the exit code when it stops."""
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.settings import Settings
    from gridgen.distributed.settings import setting_problems
    from gridgen.errors import GridgenError

    if not 0 < args.port < 65536:
        print(f"gridgen serve: --port {args.port} must be between 1 and 65535", file=sys.stderr)
        return 2
    try:
        settings = Settings() if args.database is None else Settings(database_url=args.database)
    except ValidationError as exc:
        print(f"gridgen serve: bad setting: {setting_problems(exc)}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except GridgenError as exc:
        print(f"gridgen serve: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``serve`` on its own (``python -m gridgen_cli.cmd_serve``)."""
    parser = argparse.ArgumentParser(prog="gridgen serve")
    _options(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
