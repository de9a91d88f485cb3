"""The privilege check's comparison, on calls and grants made up here: a call no grant
allows, a deny that wins, a grant nobody used, the list of grants no test reaches kept
honest, IAM's wildcards and the one condition the template uses."""

from __future__ import annotations

from devstack.aws_calls import Call
from devstack.privileges import Grant, compare, granted
from devstack.unexercised_grants import Unexercised

BUCKET = "arn:aws:s3:::ecm-local-files-123456789012"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table"


def test_wildcards_match_as_iam_does() -> None:
    grant = Grant("F", "Allow", "dynamodb:Query", f"{TABLE}/PatientsTable/index/*")
    assert granted(Call("F", "dynamodb:Query", f"{TABLE}/PatientsTable/index/a-b"), [grant])
    assert granted(Call("F", "DynamoDB:query", f"{TABLE}/PatientsTable/index/a"), [grant])
    assert not granted(Call("F", "dynamodb:Query", f"{TABLE}/PatientsTable"), [grant])
    assert not granted(Call("G", "dynamodb:Query", f"{TABLE}/PatientsTable/index/a"), [grant])
    assert not granted(Call("F", "dynamodb:Scan", f"{TABLE}/PatientsTable/index/a"), [grant])
    # "[" is no character class to IAM
    odd = Grant("F", "Allow", "s3:GetObject", f"{BUCKET}/[a]/*")
    assert granted(Call("F", "s3:GetObject", f"{BUCKET}/[a]/", "[a]/"), [odd])
    assert not granted(Call("F", "s3:GetObject", f"{BUCKET}/a/", "a/"), [odd])


def test_a_deny_wins_over_an_allow() -> None:
    grants = [
        Grant("Api", "Allow", "s3:GetObject", f"{BUCKET}/*"),
        Grant("Api", "Deny", "s3:GetObject", f"{BUCKET}/work/*"),
    ]
    assert granted(Call("Api", "s3:GetObject", f"{BUCKET}/sftp/", "sftp/"), grants)
    assert granted(Call("Api", "s3:GetObject", f"{BUCKET}/", ""), grants)
    assert not granted(Call("Api", "s3:GetObject", f"{BUCKET}/work/", "work/"), grants)


def test_a_listing_is_granted_for_the_folders_its_condition_names() -> None:
    condition = (("StringLike", "s3:prefix", ("work/*",)),)
    grant = Grant("Rollback", "Allow", "s3:ListBucket", BUCKET, condition)
    assert granted(Call("Rollback", "s3:ListBucket", BUCKET, "work/"), [grant])
    assert not granted(Call("Rollback", "s3:ListBucket", BUCKET, ""), [grant])
    assert not granted(Call("Rollback", "s3:ListBucket", BUCKET, "files/"), [grant])


def test_every_call_granted_and_every_grant_used_or_listed() -> None:
    read = Grant("Lock", "Allow", "dynamodb:GetItem", f"{TABLE}/MetaTable")
    write = Grant("Lock", "Allow", "dynamodb:UpdateItem", f"{TABLE}/MetaTable")
    delete = Grant("Lock", "Allow", "dynamodb:DeleteItem", f"{TABLE}/MetaTable")
    calls = [
        Call("Lock", "dynamodb:GetItem", f"{TABLE}/MetaTable"),
        Call("Lock", "dynamodb:PutItem", f"{TABLE}/MetaTable"),
    ]
    findings = compare(calls, [read, write, delete], unexercised=())
    assert findings.ungranted == [calls[1]]
    assert findings.unused == [write, delete]
    assert "Lock: dynamodb:PutItem on MetaTable" in findings.report()
    assert "Lock: dynamodb:DeleteItem on MetaTable" in findings.report()

    # a grant listed with its reason is no finding; a part of the suite checks calls only
    listed = Unexercised("Lock", "dynamodb:DeleteItem", "MetaTable", "a lock nobody released")
    findings = compare(calls[:1], [read, write, delete], unexercised=[listed])
    assert findings.unused == [write] and not findings.ungranted and not findings.stale
    assert not compare(calls[:1], [read, write, delete], unexercised=(), check_unused=False)
    assert not compare(calls[:1], [read], unexercised=())


def test_the_list_of_unreached_grants_cannot_go_stale() -> None:
    read = Grant("Lock", "Allow", "dynamodb:GetItem", f"{TABLE}/MetaTable")
    used = Unexercised("Lock", "dynamodb:GetItem", "MetaTable", "said unused, but used")
    gone = Unexercised("Lock", "dynamodb:Scan", "MetaTable", "no such grant any more")
    findings = compare(
        [Call("Lock", "dynamodb:GetItem", f"{TABLE}/MetaTable")], [read], unexercised=[used, gone]
    )
    assert [(entry, why) for entry, why in findings.stale] == [
        (used, "a call used it: take it off the list"),
        (gone, "no grant of the template is this one"),
    ]
