"""User commands: ``users add|list|disable|role|password|token|revoke|scope``, ``audit``.

The first admin is made here (``chainatlas users add NAME --role admin``): the web app
has no sign-up. Every command works on an existing store only; a mistyped ``--db`` is
refused rather than created. Writes are logged with the actor ``cli:<os user>``.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chainatlas.cli_common import DbOption, JsonOption, console, open_store, print_json
from chainatlas.errors import ChainAtlasError

if TYPE_CHECKING:
    pass

users_app = typer.Typer(help="Users of the web app and API tokens for scripts.",
                        no_args_is_help=True)

RoleOption = Annotated[str, typer.Option("--role", help="viewer (read), analyst "
                                         "(corrections, imports) or admin (users).")]
UserName = Annotated[str, typer.Argument(help="User name.")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin (scripts).")]


def _read_password(from_stdin: bool) -> str:
    """The password: the first line of stdin, or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="User name (no spaces, no ':').")],
              role: RoleOption = "viewer", password_stdin: PasswordStdin = False,
              db: DbOption = None) -> None:
    """Add a user (the first one should be an admin)."""
    from chainatlas.store.audit import cli_actor
    from chainatlas.store.users import add_user, check_name, check_role

    check_name(name)
    check_role(role)  # before the prompt: no password typed for a doomed command
    with open_store(db) as store:
        user = add_user(store, name, role, _read_password(password_stdin), actor=cli_actor())
    console.print(f"Added user {user.name} ({user.role}).", highlight=False)


@users_app.command("list")
def users_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the users, their roles and active tokens."""
    from chainatlas.store.users import list_tokens, list_users

    with open_store(db) as store:
        users, tokens = list_users(store), list_tokens(store)
    if as_json:
        print_json({"users": users, "tokens": tokens})
        return
    table = Table("name", "role", "disabled", "created (UTC)", "tokens")
    for u in users:
        table.add_row(u["name"], u["role"], "yes" if u["disabled"] else "",
                      str(u["created_at"])[:19], str(u["tokens"]))
    console.print(table)
    if tokens:
        listed = Table("token id", "user", "label", "created (UTC)")
        for t in tokens:
            listed.add_row(str(t["token_id"]), t["user_name"], t["label"] or "",
                           str(t["created_at"])[:19])
        console.print(listed)


@users_app.command("disable")
def users_disable(name: UserName,
                  db: DbOption = None) -> None:
    """Disable a user: no more sign-in, and their tokens stop working."""
    from chainatlas.store.audit import cli_actor
    from chainatlas.store.users import disable_user

    with open_store(db) as store:
        disable_user(store, name, actor=cli_actor())
    console.print(f"Disabled user {name}.", highlight=False)


@users_app.command("role")
def users_role(name: UserName,
               role: Annotated[str, typer.Argument(help="viewer, analyst or admin.")],
               db: DbOption = None) -> None:
    """Give a user another role: their web sessions end, their tokens take the new role."""
    from chainatlas.store.audit import cli_actor
    from chainatlas.store.users import set_role

    with open_store(db) as store:
        set_role(store, name, role, actor=cli_actor())
    console.print(f"User {name} is now {role}; their web sessions have ended.",
                  highlight=False)


@users_app.command("password")
def users_password(name: UserName,
                   password_stdin: PasswordStdin = False, db: DbOption = None) -> None:
    """Set a user's password: their web sessions end, their API tokens are kept."""
    from chainatlas.store.audit import cli_actor
    from chainatlas.store.users import set_password

    with open_store(db) as store:
        set_password(store, name, _read_password(password_stdin), actor=cli_actor())
    console.print(f"Password of {name} changed; their web sessions have ended.",
                  highlight=False)


@users_app.command("token")
def users_token(name: UserName,
                label: Annotated[str | None, typer.Option(
                    "--label", help="What the token is for.")] = None,
                db: DbOption = None) -> None:
    """Issue an API token (Authorization: Bearer …); it is printed once, keep it safe."""
    from chainatlas.store.audit import cli_actor
    from chainatlas.store.users import issue_token

    with open_store(db) as store:
        token = issue_token(store, name, label, actor=cli_actor())
    # Plain stdout, one line: scripts capture it; it is never shown again.
    sys.stdout.write(token + "\n")


@users_app.command("scope")
def users_scope(name: UserName,
                region: Annotated[str | None, typer.Argument(
                    help="Region the user may write projects of (鹿泉区, 130110); "
                         "omit to list the user's scopes.")] = None,
                park: Annotated[str | None, typer.Option(
                    "--park", help="Only this park of the region.")] = None,
                remove: Annotated[bool, typer.Option(
                    "--remove", help="Lift this scope instead of adding it.")] = False,
                db: DbOption = None) -> None:
    """Limit an analyst's ledger writes to a region or park (no scope: anywhere)."""
    from chainatlas.projects.scopes import add_scope, remove_scope, user_scopes
    from chainatlas.store.audit import cli_actor

    with open_store(db, read_only=region is None) as store:
        if region is not None and remove:
            remove_scope(store, name, region, park, actor=cli_actor())
        elif region is not None:
            add_scope(store, name, region, park, actor=cli_actor())
        rows = user_scopes(store, name)
    shown = "、".join(f"{r['region_adcode']}{' ' + r['park'] if r['park'] else ''}"
                     for r in rows)
    console.print(f"{name} writes projects of {shown}." if rows else
                  f"{name} has no scope: writes projects anywhere.", highlight=False)


@users_app.command("revoke")
def users_revoke(token_id: Annotated[int, typer.Argument(help="Token id (users list).")],
                 db: DbOption = None) -> None:
    """Revoke an API token by its id."""
    from chainatlas.store.audit import cli_actor
    from chainatlas.store.users import revoke_token

    with open_store(db) as store:
        revoke_token(store, token_id, actor=cli_actor())
    console.print(f"Revoked token {token_id}.", highlight=False)


def audit_command(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Lines to show.")] = 50,
    actor: Annotated[str | None, typer.Option(help="Only this actor's lines.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only lines at or after this UTC time (YYYY-MM-DD[THH:MM]).")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Show the audit log: who changed what, when, before and after (newest first)."""
    from chainatlas.store.audit import audit_rows

    start = _since(since)
    with open_store(db) as store:
        rows = audit_rows(store, since=start, limit=limit, actor=actor)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "at (UTC)", "actor", "action", "target", "before", "after")
    for r in rows:
        table.add_row(str(r["id"]), str(r["at"])[:19], r["actor"], r["action"], r["target"],
                      _short(r["before"]), _short(r["after"]))
    console.print(table)


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ChainAtlasError(f"--since {text!r} is not a date or time "
                              "(YYYY-MM-DD or YYYY-MM-DDTHH:MM).") from None
    # The log keeps naive UTC: a time given with its offset is converted, not misread.
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _short(value: object, width: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[:width - 1] + "…"
