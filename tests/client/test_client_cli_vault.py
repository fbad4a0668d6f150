"""``strongroom client secrets get|put|list|delete`` and ``strongroom client share
create|redeem|revoke`` through the SDK against a real service (issue #20: operators
script the vault like ``vault kv get``)."""

from __future__ import annotations

import json
import uuid

from typer.testing import CliRunner

from strongroom.cli import app
from tests.client.conftest import ThreadServer
from tests.client.test_client_cli import own_output

runner = CliRunner()


def test_secrets_and_shares_round_trip(service: ThreadServer, admin_key: str) -> None:
    env = {"STRONGROOM_ADDR": service.addr, "STRONGROOM_API_KEY": admin_key}

    def cli(*args: str, stdin: str | None = None, code: int = 0) -> str:
        result = runner.invoke(app, ["client", *args], env=env, input=stdin)
        assert result.exit_code == code, result.output
        return own_output(result.stdout if code == 0 else result.stderr)

    path = f"apps/cli-{uuid.uuid4().hex[:8]}/db"
    written = json.loads(cli("secrets", "put", path, "--field", "user=app-user", "--cas", "0"))
    assert written["metadata"]["version"] == 1 and "app-user" not in json.dumps(written)
    # The value from stdin (out of the shell history); a merge patch keeps "user".
    json.loads(cli("secrets", "put", path, "--patch", stdin='{"password": "s3cr3t-pw"}'))
    got = json.loads(cli("secrets", "get", path))
    assert got["data"] == {"user": "app-user", "password": "s3cr3t-pw"}
    assert cli("secrets", "get", path, "--field", "password") == "s3cr3t-pw\n"
    assert cli("secrets", "get", path, "--version", "1", "--field", "user") == "app-user\n"
    assert "no field 'nope'" in cli("secrets", "get", path, "--field", "nope", code=2)
    assert path in cli("secrets", "list", "--prefix", path.rsplit("/", 1)[0]).split()
    # A stale check-and-set is the service's error, one line, exit code 2.
    stale = cli("secrets", "put", path, "--field", "x=y", "--cas", "1", code=2)
    assert stale.startswith("error: SEC") and "s3cr3t" not in stale

    # Share the current version once; the token is printed once and redeems once.
    made = json.loads(cli("share", "create", "--secret", path, "--version", "2"))
    token = made["token"]
    revealed = json.loads(cli("share", "redeem", stdin=token + "\n"))
    assert revealed == {"user": "app-user", "password": "s3cr3t-pw"}
    assert cli("share", "redeem", token, code=2).startswith("error: SHR")
    # An ad hoc value with a passphrase, revoked before anyone reads it.
    adhoc = json.loads(cli("share", "create", "--passphrase", "pw", stdin="wifi: hunter2\n"))
    assert cli("share", "redeem", adhoc["token"], "--passphrase", "pw") == "wifi: hunter2\n"
    again = json.loads(cli("share", "create", "one more", "--views", "2"))
    assert json.loads(cli("share", "revoke", again["share"]["id"]))["state"] == "revoked"

    deleted = json.loads(cli("secrets", "delete", path))
    assert deleted["versions"] == [2]
    assert cli("secrets", "get", path, code=2).startswith("error: SEC")
