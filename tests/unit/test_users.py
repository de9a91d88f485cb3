"""Who may enter: users listed without tokens, disabled and enabled, tokens rotated and
expiring; the authorizer refuses each revoked token as an unknown one (moto in-process)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from ecm import cli
from ecm.api import auth, users
from ecm.errors import ApiError
from ecm.models import User

ARN = "arn:aws:execute-api:r:a:api/prod/GET/v1/x"


def _authorize(token: str) -> dict[str, Any]:
    return auth.authorize_request({"headers": {"X-User-Token": token}, "methodArn": ARN})


def _refused(token: str) -> bool:
    try:
        _authorize(token)
    except PermissionError as exc:
        assert str(exc) == "Unauthorized"
        return True
    return False


def _admin(user: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": str(user["id"]), "role": "admin", "name": user["name"]}


def test_the_listing_never_shows_a_token_or_its_hash(tables: None) -> None:
    admin, admin_token = auth.create_user("Ada Admin", "admin")
    manager, manager_token = auth.create_user("Cy Manager", "olcm", email="cy@example.org")
    listed = users.list_users()["users"]
    text = json.dumps(listed)
    for token in (admin_token, manager_token):
        assert token not in text
        assert auth.hash_token(token) not in text
    assert "token_hash" not in text
    assert [(u["id"], u["role"], u["disabled"]) for u in listed] == [
        (admin["id"], "admin", False),
        (manager["id"], "olcm", False),
    ]
    assert listed[1]["email"] == "cy@example.org"
    assert set(listed[0]) == set(users.USER_FIELDS)


def test_a_disabled_user_is_refused_and_enabled_again(tables: None) -> None:
    admin, _ = auth.create_user("Ada Admin", "admin")
    staff, token = auth.create_user("Sam Staff", "staff")
    assert not _refused(token)
    changed = users.set_disabled(staff["id"], True, _admin(admin))
    assert changed["user"]["disabled"] is True
    assert _refused(token)
    assert users.set_disabled(staff["id"], False, _admin(admin))["user"]["disabled"] is False
    assert _authorize(token)["context"]["user_id"] == str(staff["id"])


def test_an_admin_cannot_disable_themselves(tables: None) -> None:
    admin, token = auth.create_user("Ada Admin", "admin")
    with pytest.raises(ApiError) as refused:
        users.set_disabled(admin["id"], True, _admin(admin))
    assert (refused.value.status, refused.value.messages) == (
        409,
        ["You cannot disable your own user"],
    )
    assert not _refused(token)


def test_an_unknown_user_is_404(tables: None) -> None:
    for call in (
        lambda: users.set_disabled(99, True),
        lambda: users.rotate_token(99),
    ):
        with pytest.raises(ApiError) as missing:
            call()
        assert (missing.value.status, missing.value.messages) == (404, ["User not found"])


def test_a_rotated_token_replaces_the_old_one(tables: None) -> None:
    admin, _ = auth.create_user("Ada Admin", "admin")
    manager, old = auth.create_user("Cy Manager", "ilcm", phone="+18055550100")
    body, new = users.rotate_token(manager["id"], actor=_admin(admin))
    assert new != old
    assert _refused(old)
    assert _authorize(new)["context"] == {
        "user_id": str(manager["id"]),
        "role": "ilcm",
        "name": "Cy Manager",
    }
    assert body["user"]["token_rotated_at"]
    assert new not in json.dumps(body)
    stored = [u for u in User.scan() if u.id == manager["id"]]
    assert len(stored) == 1  # one item: the old one went in the same transaction
    assert stored[0].phone == "+18055550100"
    assert stored[0].created_at == manager["created_at"]
    # Rotated twice in a row: the user is found by id at once (not through the index).
    _, newest = users.rotate_token(manager["id"])
    assert _refused(new)
    assert not _refused(newest)


def test_a_rotation_keeps_a_disabled_user_disabled(tables: None) -> None:
    staff, _ = auth.create_user("Sam Staff", "staff")
    users.set_disabled(staff["id"], True)
    _, token = users.rotate_token(staff["id"])
    assert _refused(token)


def test_an_expired_token_is_refused_like_an_unknown_one(tables: None) -> None:
    staff, token = auth.create_user("Sam Staff", "staff", expires_in_days=1)
    assert staff["token_expires_at"] > staff["created_at"]
    assert not _refused(token)
    User(auth.hash_token(token)).update(
        actions=[User.token_expires_at.set("2020-01-01T00:00:00.000Z")]
    )
    assert _refused(token)
    body, rotated = users.rotate_token(staff["id"], expires_in_days=30)
    assert body["user"]["token_expires_at"] > "2020"
    assert not _refused(rotated)
    _, forever = users.rotate_token(staff["id"])  # no expiry given: none
    assert users.list_users()["users"][0]["token_expires_at"] is None
    assert not _refused(forever)


@pytest.mark.parametrize("days", [0, -1, 3651, True])
def test_expiry_is_bounded(tables: None, days: int) -> None:
    with pytest.raises(ValueError, match="expires_in_days must be an integer from 1 to 3650"):
        auth.create_user("Sam Staff", "staff", expires_in_days=days)
    staff, _ = auth.create_user("Sam Staff", "staff")
    with pytest.raises(ApiError) as invalid:
        users.rotate_token(staff["id"], expires_in_days=days)
    assert invalid.value.status == 422


def test_the_cli_lists_disables_enables_and_rotates(
    tables: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["create-user", "--name", "Sam Staff", "--role", "staff"]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    assert cli.main(["list-users"]) == 0
    listed = json.loads(capsys.readouterr().out)["users"]
    assert token not in json.dumps(listed)
    user_id = str(listed[0]["id"])
    assert cli.main(["disable-user", "--id", user_id]) == 0
    assert json.loads(capsys.readouterr().out)["user"]["disabled"] is True
    assert _refused(token)
    assert cli.main(["enable-user", "--id", user_id]) == 0
    capsys.readouterr()
    assert cli.main(["rotate-token", "--id", user_id, "--expires-in-days", "7"]) == 0
    rotated = capsys.readouterr().out.splitlines()[-1]
    assert _refused(token)
    assert not _refused(rotated)
    assert cli.main(["disable-user", "--id", "999"]) == 2
    assert "User not found" in capsys.readouterr().err
    assert cli.main(["create-user", "--name", "X", "--expires-in-days", "0"]) == 2


def test_the_users_table_holds_only_hashes(tables: None) -> None:
    staff, _ = auth.create_user("Sam Staff", "staff")
    _, token = users.rotate_token(staff["id"])
    stored = json.dumps(boto3.client("dynamodb").scan(TableName=User.Meta.table_name)["Items"])
    assert token not in stored
    assert auth.hash_token(token) in stored
