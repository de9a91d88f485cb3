"""Admin commands for a deployed or local stack: create, list, disable and enable users,
rotate a user's token (a token is printed once), add and list providers, rewrite the
patients' index attributes after an index layout change, make the plans' layout documents
of the bucket plan records.

``--stack NAME`` finds the tables of a deployed CloudFormation stack; without it the
environment names them (``python -m devstack.cli`` gives the local stack's)."""

from __future__ import annotations

import argparse
import json
import os
import sys

import boto3

from ecm.api.auth import EXPIRY_DAYS, ROLES, create_user
from ecm.api.users import list_users, rotate_token, set_disabled
from ecm.errors import ApiError
from ecm.models import MODELS
from ecm.models.access import reset_clients
from ecm.patients.providers import create_provider, list_providers
from ecm.patients.reindex import reindex_patients
from ecm.plans.documents import migrate_documents
from ecm.settings import get_settings


def use_stack(stack: str) -> None:
    """Name the deployed stack's tables and bucket in the environment, as the template
    gives them to its functions."""
    wanted = {model.resource: model.setting.upper() for model in MODELS}
    wanted["FilesBucket"] = "FILES_BUCKET"
    cloudformation = boto3.client("cloudformation")
    for logical, env in wanted.items():
        resource = cloudformation.describe_stack_resource(
            StackName=stack, LogicalResourceId=logical
        )["StackResourceDetail"]
        os.environ[env] = resource["PhysicalResourceId"]
    get_settings.cache_clear()
    reset_clients()  # the models connect to the stack's tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecm.cli", description=__doc__)
    parser.add_argument("--stack", help="deployed CloudFormation stack name")
    commands = parser.add_subparsers(dest="command", required=True)
    user = commands.add_parser("create-user", help="create a user and print its token once")
    user.add_argument("--name", required=True)
    user.add_argument("--role", choices=ROLES, default="admin")
    expiry_help = f"the token stops working after N days ({EXPIRY_DAYS[0]}..{EXPIRY_DAYS[1]})"
    user.add_argument("--expires-in-days", type=int, metavar="N", help=expiry_help)
    commands.add_parser("list-users", help="list users as JSON (never a token)")
    for name, what in (("disable-user", "refuse"), ("enable-user", "accept again")):
        toggle = commands.add_parser(name, help=f"{what} a user's token")
        toggle.add_argument("--id", type=int, required=True)
    rotate = commands.add_parser("rotate-token", help="replace a user's token; print it once")
    rotate.add_argument("--id", type=int, required=True)
    rotate.add_argument("--expires-in-days", type=int, metavar="N", help=expiry_help)
    provider = commands.add_parser("add-provider", help="add an ECM provider (caseload)")
    provider.add_argument("--name", required=True)
    provider.add_argument("--npi")
    commands.add_parser("list-providers", help="list ECM providers as JSON")
    commands.add_parser(
        "reindex-patients",
        help="rewrite every patient's search/filter index attributes (after an upgrade)",
    )
    commands.add_parser(
        "migrate-plans",
        help="make each config/plans/<plan>.json of the bucket its plan's record (once)",
    )
    args = parser.parse_args(argv)
    if args.stack:
        use_stack(args.stack)
    try:
        if args.command == "create-user":
            created, token = create_user(args.name, args.role, expires_in_days=args.expires_in_days)
            print(f"user {created['id']} ({created['role']}) created; token (shown once):")
            print(token)
        elif args.command == "list-users":
            print(json.dumps(list_users(), indent=2))
        elif args.command in ("disable-user", "enable-user"):
            changed = set_disabled(args.id, args.command == "disable-user")
            print(json.dumps(changed))
        elif args.command == "rotate-token":
            _, token = rotate_token(args.id, args.expires_in_days)
            print(f"user {args.id}: the old token no longer works; new token (shown once):")
            print(token)
        elif args.command == "add-provider":
            print(json.dumps(create_provider(args.name, args.npi)))
        elif args.command == "reindex-patients":
            print(json.dumps(reindex_patients()))
        elif args.command == "migrate-plans":
            print(json.dumps(migrate_documents(), indent=2))
        else:
            print(json.dumps(list_providers(), indent=2))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"error: {'; '.join(exc.messages)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
