"""Secret strength: placeholders, test-mode keys, length, character variety; and generation."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

from shipyard.envfile.schema import SecretKind, Variable

MIN_DISTINCT_CHARACTERS = 8
MIN_CHARACTER_CLASSES = 2

# Words that mark a value as "fill me in"; matched anywhere, ignoring case and punctuation.
_PLACEHOLDER_WORDS = ("changeme", "changethis", "replaceme", "placeholder", "example", "yoursecret")
# Defaults shipped by images and tutorials; matched as the whole value, trailing digits aside.
_DEFAULTS = frozenset(
    {
        "postgres",
        "admin",
        "password",
        "passwd",
        "secret",
        "minioadmin",
        "miniostorage",
        "root",
        "test",
        "default",
        "letmein",
        "qwerty",
        "pass",
    }
)
_TEST_MODE = re.compile(r"^(?:[a-z]{2,4}_)?test[_-]", re.IGNORECASE)
_GENERATORS_HINT = "generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True)
class SecretProblem:
    """Why a secret value is unsafe: the check id, what is wrong, how to fix it."""

    check: str
    message: str
    fix: str


def is_placeholder(value: str) -> bool:
    """True for a placeholder or a well-known default (CHANGE_ME, postgres, minioadmin, ...)."""
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    if not folded or (value.startswith("<") and value.endswith(">")):
        return True
    if any(word in folded for word in _PLACEHOLDER_WORDS):
        return True
    return folded.rstrip("0123456789") in _DEFAULTS


def character_classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters `value` uses."""
    return sum(
        any(test(char) for char in value)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )


def secret_problems(variable: Variable, value: str, env: str) -> list[SecretProblem]:
    """Everything wrong with `value` as the secret `variable` in `env`; empty when it is safe.

    Messages never contain the value.
    """
    name = variable.name
    if is_placeholder(value):
        return [
            SecretProblem(
                "placeholder-secret",
                f"{name} is a placeholder or a well-known default",
                f"set a real secret; {_GENERATORS_HINT}",
            )
        ]
    problems = []
    if env == "production" and _TEST_MODE.match(value):
        problems.append(
            SecretProblem(
                "test-mode-key",
                f"{name} looks like a test-mode key, in production",
                "use the live key of the production account",
            )
        )
    if len(value) < variable.min_length:
        problems.append(
            SecretProblem(
                "short-secret",
                f"{name} has {len(value)} characters; it needs at least"
                f" {variable.min_length} ({variable.secret_kind})",
                f"use a longer value; {_GENERATORS_HINT}",
            )
        )
    distinct = len(set(value))
    classes = character_classes(value)
    if distinct < MIN_DISTINCT_CHARACTERS or classes < MIN_CHARACTER_CLASSES:
        problems.append(
            SecretProblem(
                "weak-secret",
                f"{name} has too little variety ({distinct} different characters,"
                f" {classes} kind(s)); it needs {MIN_DISTINCT_CHARACTERS} different characters"
                f" of {MIN_CHARACTER_CLASSES} kinds (lower case, upper case, digits, symbols)",
                f"use a random value; {_GENERATORS_HINT}",
            )
        )
    return problems


def generate(variable: Variable) -> str:
    """A fresh random value for the secret `variable` that passes every rule in production.

    Access keys are 20 upper-case letters and digits, keys 40 URL-safe characters (the
    in-stack object store accepts at most 20 and 40), passwords 32 URL-safe characters.
    None contains a character that needs quoting in an env file or a URL.
    """
    while True:
        if variable.secret_kind is SecretKind.ACCESS_KEY:
            alphabet = string.ascii_uppercase + string.digits
            value = "".join(secrets.choice(alphabet) for _ in range(20))
        elif variable.secret_kind is SecretKind.KEY:
            value = secrets.token_urlsafe(30)
        else:
            value = secrets.token_urlsafe(24)
        if not secret_problems(variable, value, "production"):
            return value
