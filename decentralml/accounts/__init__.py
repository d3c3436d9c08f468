"""Accounts: secret URIs, mnemonics and named, encrypted keystores (polkadot.js JSON).

Resolve what a user passes as ``--account`` with `resolve_signer` (a keypair that signs)
or `resolve_address` (an address, never asking for a password). Named keystores live in
`Keystore` (``<data dir>/accounts/<name>.json``, private to the user) and are read and
written in the format of polkadot.js's ``pair.toJson(password)``, so accounts move both
ways between this package and polkadot.js tools.

Nothing here knows about the command line: passwords come from a `PasswordSource`, whose
prompt, if any, the caller supplies.
"""

from decentralml.accounts._api import (
    DEV_KEY_WARNING,
    ImportedAccount,
    NewAccount,
    import_json,
    import_uri,
    new_account,
)
from decentralml.accounts._password import (
    PASSWORD_ENV,
    PASSWORD_FILE_ENV,
    PasswordSource,
    read_password_file,
)
from decentralml.accounts._resolve import AccountKind, classify, resolve_address, resolve_signer
from decentralml.accounts._store import AccountEntry, Keystore, keystore_dir
from decentralml.accounts._uri import DEV_PHRASE, generate_mnemonic, keypair_from_uri

__all__ = [
    "DEV_KEY_WARNING",
    "DEV_PHRASE",
    "PASSWORD_ENV",
    "PASSWORD_FILE_ENV",
    "AccountEntry",
    "AccountKind",
    "ImportedAccount",
    "Keystore",
    "NewAccount",
    "PasswordSource",
    "classify",
    "generate_mnemonic",
    "import_json",
    "import_uri",
    "keypair_from_uri",
    "keystore_dir",
    "new_account",
    "read_password_file",
    "resolve_address",
    "resolve_signer",
]
