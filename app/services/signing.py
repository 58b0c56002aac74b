"""Signing notes cheaply but strongly: a personal signing PIN, set once with the
passphrase, kept as a slow scrypt hash (``cryptography``) inside the encrypted
vault and checked there on the database worker; three wrong PINs in a row fall back
to the passphrase (which also clears the count). "Sign finished notes" signs the
day's complete drafts of the signer in one step after one check.

Why this satisfies HIPAA 45 CFR 164.312(d) (person or entity authentication): the
PIN is only usable inside a vault that was already unlocked with the passphrase
(something the person knows, with a slow key derivation); the PIN is a second
"something you know" bound to this person and vault, verified against a salted
scrypt hash that never leaves the encrypted database, and guessing is limited to
three tries before the full passphrase is required again. See docs/SECURITY.md.

Each function takes a :class:`Repositories` first (run through ``AppContext.run``).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.domain import lifecycle
from app.domain.note_times import time_questions
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import User
from app.services.changes import Changed
from app.services.changes import Done
from app.services.notes import save_draft
from app.services.notes import set_timer
from app.services.notes import time_policy
from app.services.vaults import check_passphrase
from app.store.repositories import Repositories
from app.store.vault import Vault

PIN_KEY = "signing_pin"
FAILURES_KEY = "signing_pin_failures"
MAX_TRIES = 3
MIN_PIN = 4
MAX_PIN = 12
#: scrypt cost: about 40 ms on a laptop; slow for guessing, quick for signing.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class PinProblem(ValueError):
    """The PIN cannot be used: not set, too short, or wrong; ``tries_left`` says how
    many more are allowed before the passphrase is required (0: use it now)."""

    def __init__(self, message: str, tries_left: int = MAX_TRIES) -> None:
        super().__init__(message)
        self.tries_left = tries_left


@dataclass(frozen=True)
class PinState:
    """What the Sign card shows: a PIN is set, and whether it may be used now."""

    is_set: bool
    tries_left: int

    @property
    def usable(self) -> bool:
        return self.is_set and self.tries_left > 0


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(pin.encode())


def _user_key(user: User) -> str:
    return f"{PIN_KEY}:{user.id}"


def _failures_key(user: User) -> str:
    return f"{FAILURES_KEY}:{user.id}"


def pin_problem(pin: str) -> str:
    """Why ``pin`` cannot be a signing PIN, in plain words ("" when it can)."""
    if not pin.isdigit() or not MIN_PIN <= len(pin) <= MAX_PIN:
        return f"A signing PIN is {MIN_PIN} to {MAX_PIN} digits."
    if len(set(pin)) == 1 or pin in "0123456789012" or pin in "9876543210":
        return "Choose a PIN that is not one digit repeated or a run like 1234."
    return ""


def pin_state(repos: Repositories, user: User) -> PinState:
    store = repos.store
    failures = int(store.meta(_failures_key(user), "0") or 0)
    return PinState(bool(store.meta(_user_key(user))), max(0, MAX_TRIES - failures))


def set_pin(repos: Repositories, vault: Vault, passphrase: str, user: User, pin: str) -> PinState:
    """Set (or replace) the signer's PIN after checking the passphrase."""
    problem = pin_problem(pin)
    if problem:
        raise PinProblem(problem)
    check_passphrase(vault, passphrase)
    salt = os.urandom(16)
    digest = _derive(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    record = {
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "hash": base64.b64encode(digest).decode(),
    }
    with repos.store.transaction():
        repos.store.set_meta(_user_key(user), json.dumps(record))
        repos.store.set_meta(_failures_key(user), "0")
        repos.store.audit("passphrase", "users", user.id, what="signing PIN set")
    return pin_state(repos, user)


def check_pin(repos: Repositories, user: User, pin: str) -> None:
    """Raise PinProblem unless ``pin`` is the signer's PIN and tries are left."""
    store = repos.store
    raw = store.meta(_user_key(user))
    if not raw:
        raise PinProblem("No signing PIN is set; sign with your passphrase.", 0)
    state = pin_state(repos, user)
    if state.tries_left <= 0:
        raise PinProblem("Too many wrong PINs: sign with your passphrase this time.", 0)
    rec = json.loads(raw)
    digest = _derive(pin, base64.b64decode(rec["salt"]), rec["n"], rec["r"], rec["p"])
    if hmac.compare_digest(digest, base64.b64decode(rec["hash"])):
        if state.tries_left != MAX_TRIES:
            store.set_meta(_failures_key(user), "0")
        return
    left = state.tries_left - 1
    with store.transaction():
        store.set_meta(_failures_key(user), str(MAX_TRIES - left))
        store.audit("passphrase", "users", user.id, what="wrong signing PIN")
    if left:
        raise PinProblem(f"That PIN is not right ({left} more tries).", left)
    raise PinProblem("That PIN is not right. Sign with your passphrase this time.", 0)


def authenticate(
    repos: Repositories, vault: Vault, user: User, secret: str, with_pin: bool
) -> None:
    """Check the signer: the PIN when ``with_pin``, else the passphrase (a right
    passphrase clears the wrong-PIN count)."""
    if with_pin:
        check_pin(repos, user, secret)
        return
    check_passphrase(vault, secret)
    if repos.store.meta(_failures_key(user), "0") not in ("", "0"):
        repos.store.set_meta(_failures_key(user), "0")


def finished_drafts(
    repos: Repositories, user: User, day: date, confirmed: frozenset[str] = frozenset()
) -> tuple[list[Encounter], int]:
    """The signer's drafts for ``day`` that can be signed, and how many cannot yet: a
    draft is finished when the life-cycle rules let it be signed and its times raise
    no question (a time outside the signer's usual hours, a service longer than the
    signer's limit: Preferences), unless the person
    answered that question for it (its id in ``confirmed``)."""
    drafts = repos.encounters.list(
        "specialist_id = ? AND status = ? AND service_date = ?",
        (user.id, NoteStatus.DRAFT.value, day.isoformat()),
    )
    policy = time_policy(repos, user.id)
    ready = [
        d
        for d in drafts
        if not lifecycle.signing_problems(d)
        and (d.id in confirmed or not time_questions(d.start_time, d.end_time, policy))
    ]
    return ready, len(drafts) - len(ready)


def sign_finished(
    repos: Repositories,
    vault: Vault,
    user: User,
    secret: str,
    with_pin: bool,
    day: date,
    first: Encounter | None = None,
    confirmed: frozenset[str] = frozenset(),
) -> Done[tuple[list[Encounter], int]]:
    """Save ``first`` (the draft on screen), check the signer once, then sign each
    of the day's finished drafts (see :func:`finished_drafts`). Returns the signed
    notes and how many drafts of the day still need work."""
    if first is not None:
        save_draft(repos, first)
    authenticate(repos, vault, user, secret, with_pin)
    ready, waiting = finished_drafts(repos, user, day, confirmed)
    signed = []
    for d in ready:
        set_timer(repos, d.id, None)
        signed.append(repos.encounters.sign(d.id, user))
    return Done((signed, waiting), Changed.of(repos.encounters.table, ids=[n.id for n in signed]))


def sign_note(
    repos: Repositories, vault: Vault, user: User, secret: str, with_pin: bool, draft: Encounter
) -> Done[Encounter]:
    """Save the draft (nothing typed is lost whatever happens next), check the signer
    (PIN or passphrase), then sign. Raises PinProblem, WrongPassphrase,
    ValidationError or LifecycleError."""
    save_draft(repos, draft)
    authenticate(repos, vault, user, secret, with_pin)
    set_timer(repos, draft.id, None)
    signed = repos.encounters.sign(draft.id, user)
    return Done(signed, Changed.of(repos.encounters.table, ids=[draft.id]))
