"""The table of what each function may do (docs/running/security.md), made from
template.yaml's policies, so it cannot say other than the template:
``python -m devstack.privilege_table`` rewrites it between its markers, ``--check`` fails
when it is out of date (a unit test runs that)."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from devstack.privileges import Grant, function_grants, policy_template, resource_label
from devstack.template import ROOT, LocalTemplate
from devstack.unexercised_grants import UNEXERCISED

TABLE_PAGE = ROOT / "docs" / "running" / "security.md"
START = "<!-- privilege table: python -m devstack.privilege_table writes it from template.yaml -->"
END = "<!-- end of privilege table -->"
_COLUMNS = ("DynamoDB", "S3 (the files bucket, by folder)", "Queues, state machine, secret")
_UNREACHED = "†"


def _column(grant: Grant) -> int:
    service = grant.action.split(":", 1)[0]
    return {"dynamodb": 0, "s3": 1}.get(service, 2)


def _place(grant: Grant, template: LocalTemplate) -> str:
    label = resource_label(grant.resource, template)
    if grant.action.startswith("s3:"):
        _bucket, _, folder = label.partition("/")
        label = {"": "the bucket", "*": "any key"}.get(folder, folder)
        for _operator, _key, values in grant.condition:
            label += f" of {', '.join(values)}"
    return f"never {label}" if grant.effect == "Deny" else label


def table(template: LocalTemplate | None = None) -> str:
    """A Markdown table: each function, and per place the actions it may take there."""
    template = template or policy_template()
    unreached = {(u.function, u.action, u.resource) for u in UNEXERCISED}
    cells: dict[str, list[dict[str, list[str]]]] = defaultdict(
        lambda: [defaultdict(list) for _ in _COLUMNS]
    )
    for grant in function_grants(template):
        action = grant.action.split(":", 1)[1]
        label = resource_label(grant.resource, template)
        if (grant.function, grant.action, label) in unreached:
            action += _UNREACHED
        cells[grant.function][_column(grant)][_place(grant, template)].append(action)
    functions = sorted(template.of_type("AWS::Serverless::Function"))
    lines = [
        f"| Function | {' | '.join(_COLUMNS)} |",
        "|" + " --- |" * (len(_COLUMNS) + 1),
    ]
    for function in functions:
        row = [
            "; ".join(
                f"{place}: {', '.join(sorted(actions))}" for place, actions in sorted(c.items())
            )
            or "—"
            for c in cells[function]
        ]
        lines.append(f"| {function.removesuffix('Function')} | {' | '.join(row)} |")
    return "\n".join(lines) + "\n"


def with_table(text: str, made: str) -> str:
    """``text`` (the security page) with the part between the markers replaced by ``made``."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"docs/running/security.md has no {START!r} ... {END!r} markers")
    return f"{head}{START}\n{made}{END}{tail}"


def main(argv: list[str]) -> int:
    text = TABLE_PAGE.read_text()
    wanted = with_table(text, table())
    if "--check" in argv:
        if wanted != text:
            print(
                "docs/running/security.md's privilege table is out of date: "
                "python -m devstack.privilege_table"
            )
            return 1
        return 0
    Path(TABLE_PAGE).write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
