"""`decentralml account`: create, import, export, list and remove keystores; show balances."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from decentralml.accounts import (
    AccountEntry,
    AccountKind,
    Keystore,
    PasswordSource,
    classify,
    import_json,
    import_uri,
    keystore_dir,
    new_account,
)
from decentralml.chain import AccountBalance, ChainClient, TokenInfo
from decentralml.cli.context import (
    AppContext,
    chain_timeout_option,
    common_options,
    key_value_table,
    password_file_option,
)

SCHEMA = "decentralml.account.{}/v1"
EXPORT_PASSWORD_ENV = "DECENTRALML_EXPORT_PASSWORD"
COMMAND_LINE_SECRET = (
    "a secret on the command line can be read by other local users and stays in shell "
    "history; prefer the prompt or --uri - (standard input)"
)

_name_option = click.option(
    "--name", required=True, metavar="NAME", help="The keystore's name (letters, digits, . _ -)."
)
_force_option = click.option("--force", is_flag=True, help="Replace an existing file of that name.")


def _entry_rows(entry: AccountEntry) -> list[tuple[str, str]]:
    return [
        ("name", entry.name),
        ("address", entry.address or "?"),
        ("keystore", str(entry.path)),
    ]


def _warn(app: AppContext, warnings: tuple[str, ...] | list[str]) -> None:
    for warning in warnings:
        app.info(f"[yellow]Warning:[/] {warning}")


@click.group()
def account() -> None:
    """Accounts: keystores compatible with polkadot.js, and balances on the chain.

    Keystores are kept in the user's data directory (accounts/NAME.json, readable by you
    only). Other commands take one with --account NAME.
    """


@account.command()
@_name_option
@click.option(
    "--words",
    type=click.Choice(["12", "15", "18", "21", "24"]),
    default="12",
    show_default=True,
    help="Length of the mnemonic.",
)
@click.option(
    "--path", "derivation_path", metavar="PATH", help="Derivation path, e.g. //hard/soft."
)
@_force_option
@password_file_option
@common_options
def new(
    app: AppContext,
    name: str,
    words: str,
    derivation_path: str | None,
    force: bool,
    password_file: Path | None,
) -> None:
    """Generate a new account and store it encrypted as NAME.

    The mnemonic is printed once (with --json: in the document's "mnemonic" field). Write
    it down: with the keystore's password it is the only way to recover the account.
    """
    created = new_account(
        name,
        app.passwords(password_file),
        words=int(words),
        derivation_path=derivation_path,
        force=force,
    )
    entry = created.entry

    def render(console: Console) -> None:
        console.print(key_value_table("Account created", _entry_rows(entry)))
        secret = created.mnemonic
        if created.derivation_path:
            secret += f"\n(derivation path {created.derivation_path})"
        console.print(
            Panel(
                secret,
                title="Mnemonic: shown once",
                subtitle="write it down, keep it offline, never share it",
                border_style="yellow",
            )
        )
        console.print(
            "Anyone with this mnemonic controls the account. It is not stored in clear and "
            "will not be shown again.",
            style="yellow",
        )

    payload = {
        **entry.as_dict(),
        "mnemonic": created.mnemonic,
        "derivation_path": created.derivation_path,
    }
    del payload["problem"]
    app.emit(SCHEMA.format("new"), payload, render)


def _read_secret(app: AppContext, uri: str | None) -> tuple[str, list[str]]:
    """The secret URI from --uri, standard input (``-``) or a hidden prompt."""
    if uri == "-":
        line = sys.stdin.readline().strip()
        if not line:
            raise click.UsageError("--uri -: standard input had no line")
        return line, []
    if uri is not None:
        secret = not uri.strip().startswith("//")
        return uri, [COMMAND_LINE_SECRET] if secret else []
    if not app.can_prompt:
        raise click.UsageError(
            "nothing to import: pass --file FILE (polkadot.js JSON) or --uri URI "
            "(mnemonic, 0x seed, dev URI; - reads standard input)"
        )
    text = click.prompt("Mnemonic, 0x seed or dev URI", hide_input=True, err=True)
    return str(text), []


@account.command(name="import")
@_name_option
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A polkadot.js JSON keystore (its password stays the keystore's password).",
)
@click.option(
    "--uri",
    metavar="URI",
    help="Mnemonic, 0x seed or dev URI (//Alice), optionally with //hard/soft; "
    "- reads it from standard input; omitted: asked for, hidden.",
)
@click.option("--path", "derivation_path", metavar="PATH", help="Derivation path added to the URI.")
@_force_option
@password_file_option
@common_options
def import_(
    app: AppContext,
    name: str,
    file: Path | None,
    uri: str | None,
    derivation_path: str | None,
    force: bool,
    password_file: Path | None,
) -> None:
    """Store an existing account as NAME: a polkadot.js JSON file, a mnemonic or a URI."""
    passwords = app.passwords(password_file)
    if file is not None:
        if uri is not None or derivation_path is not None:
            raise click.UsageError("--file cannot be combined with --uri or --path")
        imported = import_json(name, file, passwords, force=force)
        warnings: list[str] = []
    else:
        Keystore().check_free(name, force=force)
        text, warnings = _read_secret(app, uri)
        imported = import_uri(name, text, passwords, derivation_path=derivation_path, force=force)
    warnings = [*imported.warnings, *warnings]
    _warn(app, warnings)
    entry = imported.entry

    def render(console: Console) -> None:
        console.print(
            key_value_table("Account imported", [*_entry_rows(entry), ("from", imported.source)])
        )

    payload = {**entry.as_dict(), "source": imported.source, "warnings": warnings}
    del payload["problem"]
    app.emit(SCHEMA.format("import"), payload, render)


@account.command()
@_name_option
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the polkadot.js JSON keystore.",
)
@click.option(
    "--export-password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Encrypt the file with the first line of PATH [env DECENTRALML_EXPORT_PASSWORD; "
    "default: ask, or without a terminal the keystore's own password].",
)
@_force_option
@password_file_option
@common_options
def export(
    app: AppContext,
    name: str,
    file: Path,
    export_password_file: Path | None,
    force: bool,
    password_file: Path | None,
) -> None:
    """Write account NAME to FILE as a polkadot.js JSON keystore (re-encrypted).

    polkadot.js apps ("Restore JSON") and @polkadot/keyring (addFromJson) read the file.
    """
    store = Keystore()
    export_passwords: PasswordSource | None = app.passwords(
        export_password_file, env=EXPORT_PASSWORD_ENV, file_env=None
    )
    if export_passwords and export_passwords.given() is None and export_passwords.prompt is None:
        export_passwords = None  # nobody to ask: the keystore's own password
    path = store.export(
        name, file, app.passwords(password_file), export_passwords=export_passwords, force=force
    )
    entry = store.entry(name)

    def render(console: Console) -> None:
        console.print(
            key_value_table("Account exported", [*_entry_rows(entry)[:2], ("file", str(path))])
        )
        if export_passwords is None:
            console.print("The file is encrypted with the keystore's password.")

    payload = {
        "name": entry.name,
        "address": entry.address,
        "file": str(path),
        "same_password": export_passwords is None,
    }
    app.emit(SCHEMA.format("export"), payload, render)


@account.command(name="list")
@common_options
def list_(app: AppContext) -> None:
    """List stored accounts: names and addresses (no password is asked)."""
    store = Keystore()
    entries = store.entries()

    def render(console: Console) -> None:
        if not entries:
            console.print(
                f"No accounts in {store.directory}. Create one with "
                "`decentralml account new --name NAME`."
            )
            return
        table = Table(title=f"Accounts in {store.directory}", title_justify="left")
        table.add_column("name", style="bold", overflow="fold")
        table.add_column("address", no_wrap=True)
        table.add_column("created")
        for entry in entries:
            address = entry.address or f"[red]unreadable: {entry.problem}[/]"
            created = (entry.created or "")[:10]
            table.add_row(entry.name, address, created)
        console.print(table)

    payload = {"directory": str(keystore_dir()), "accounts": [e.as_dict() for e in entries]}
    app.emit(SCHEMA.format("list"), payload, render)


@account.command()
@_name_option
@common_options
def remove(app: AppContext, name: str) -> None:
    """Delete the keystore NAME (asks first unless --yes).

    The account itself lives on: anyone with its mnemonic or an export can restore it.
    """
    store = Keystore()
    entry = store.entry(name)
    app.confirm(
        f"Remove account {name!r} ({entry.address})? Without its mnemonic or an export "
        "it cannot be restored."
    )
    removed = store.remove(name)

    def render(console: Console) -> None:
        console.print(f"Removed account {removed.name!r} ({removed.address}).")

    payload = {"name": removed.name, "address": removed.address, "path": str(removed.path)}
    app.emit(SCHEMA.format("remove"), payload, render)


def format_tokens(planck: int, decimals: int) -> str:
    """`planck` in whole tokens, exactly: ``format_tokens(1_500_000, 6) == "1.5"``."""
    sign = "-" if planck < 0 else ""
    whole, fraction = divmod(abs(planck), 10**decimals)
    digits = f"{fraction:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def _human_tokens(planck: int, token: TokenInfo) -> str:
    text = format_tokens(planck, token.decimals)
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return f"{grouped} {token.symbol}"


def _balance_payload(
    account_text: str, address: str, url: str, balance: AccountBalance, token: TokenInfo
) -> dict[str, Any]:
    amounts = {
        "free": balance.free,
        "reserved": balance.reserved,
        "frozen": balance.frozen,
        "transferable": balance.transferable,
    }
    # A name, dev URI or address is shown as given; a mnemonic or seed never is.
    shown = classify(account_text) is not AccountKind.SECRET_URI
    return {
        "account": account_text.strip() if shown else None,
        "address": address,
        "url": url,
        "block": {"number": balance.block_number, "hash": balance.block_hash},
        "token": {"symbol": token.symbol, "decimals": token.decimals},
        **amounts,
        "holds": [{"reason": reason, "amount": amount} for reason, amount in balance.holds],
        "tokens": {k: format_tokens(v, token.decimals) for k, v in amounts.items()},
    }


@account.command()
@chain_timeout_option
@common_options
def balance(app: AppContext, timeout: float | None) -> None:
    """Show the --account's free, reserved (held) and frozen balance on the chain.

    --account may be a keystore name (no password is asked), a dev URI, a mnemonic or an
    SS58 address.
    """
    address = app.address()
    seconds = app.settings.chain_timeout if timeout is None else timeout
    with ChainClient(app.settings.url, timeout=seconds) as chain:
        token = chain.token()
        amounts = chain.account_balance(address)
    url = app.settings.url
    payload = _balance_payload(app.settings.account or "", address, url, amounts, token)

    def render(console: Console) -> None:
        rows = [
            ("address", address),
            ("free", _human_tokens(amounts.free, token)),
            ("reserved", _human_tokens(amounts.reserved, token)),
            ("frozen", _human_tokens(amounts.frozen, token)),
            ("transferable", _human_tokens(amounts.transferable, token)),
        ]
        rows += [(f"  held: {reason}", _human_tokens(v, token)) for reason, v in amounts.holds]
        rows.append(("at block", f"#{amounts.block_number} on {app.settings.url}"))
        console.print(key_value_table("Balance", rows))

    app.emit(SCHEMA.format("balance"), payload, render)
