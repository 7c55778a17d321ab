"""The environment variables the library reads, with one vocabulary for all of them.

- An empty value (or one of only spaces) counts as unset, for every variable.
- A switch is on for 1, true, yes, on and off for 0, false, no, off (any case); any other value
  is refused in one line, never guessed.
- A number is a whole number in its range; a choice one of its names.

| variable               | kind                | default              | what it does              |
|------------------------|---------------------|----------------------|---------------------------|
| DDPM_NP_TIER           | fast or reference   | reference (note)     | the layers models run on  |
| DDPM_NP_THREADS        | whole number ≥ 1    | this process's cores | the fast tier's threads   |
| DDPM_NP_CALIBRATE      | switch              | on                   | time the fast routes      |
| DDPM_NP_CACHE_DIR      | folder              | ~/.cache/ddpm_np     | where the timings go      |
| DDPM_NP_DATA           | folder              | ~/.cache/ddpm_np     | where datasets are read   |
| DDPM_NP_OFFLINE        | switch              | off                  | never download            |
| DDPM_NP_DEBUG          | switch              | off                  | tracebacks, not a line    |
| DDPM_NP_TUTORIAL_QUICK | switch              | off                  | the tutorial's quick mode |
| DDPM_NP_TUTORIAL_OUT   | folder              | runs/tutorial        | the tutorial's figures    |
| DDPM_NP_MPI_TIMEOUT    | seconds, ≥ 1        | 1800                 | wait for other processes  |

The tier: the library runs the reference tier unless told; the `ddpm-np` command runs the fast
one for its convolutional models (cli/tiers.py). DDPM_NP_TIER overrides both.

The exercises' workspace reads DDPM_NP_EXERCISE_SECONDS in its own conftest.py (written by
`ddpm-np exercises`); `ddpm-np exercises --status` sets it.
"""
from __future__ import annotations

import os

from .checks import int_from_text

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
SWITCHES = {"DDPM_NP_CALIBRATE": True, "DDPM_NP_OFFLINE": False, "DDPM_NP_DEBUG": False,
            "DDPM_NP_TUTORIAL_QUICK": False}
CHOICES = {"DDPM_NP_TIER": ("fast", "reference")}
NUMBERS = {"DDPM_NP_THREADS": 1, "DDPM_NP_MPI_TIMEOUT": 1}     # name: the least value allowed
FOLDERS = ("DDPM_NP_CACHE_DIR", "DDPM_NP_DATA", "DDPM_NP_TUTORIAL_OUT")


class EnvironmentValueError(ValueError):
    """An environment variable whose value is none of those it allows."""


def value(name: str, environ=None) -> str | None:
    """The variable's value, stripped of spaces; None if it is unset or empty."""
    v = (os.environ if environ is None else environ).get(name)
    v = None if v is None else v.strip()
    return v or None


def switch(name: str, default: bool | None = None, environ=None) -> bool:
    """A switch (see the rule above); unset gives `default` (the table's, if None)."""
    v = value(name, environ)
    if v is None:
        return SWITCHES.get(name, False) if default is None else default
    if v.lower() in TRUE:
        return True
    if v.lower() in FALSE:
        return False
    raise EnvironmentValueError(f"{name}={v!r} is not a switch: give {'/'.join(TRUE[:2])} to "
                                f"turn it on, {'/'.join(FALSE[:2])} to turn it off (also "
                                "yes/no, on/off), or leave it empty")


def number(name: str, low: int = 1, environ=None) -> int | None:
    """A whole number ≥ `low`; None if unset."""
    v = value(name, environ)
    if v is None:
        return None
    n, allowed = int_from_text(v, low)
    if n is None:
        raise EnvironmentValueError(f"{name} must be {allowed}, got {v!r} (or leave it empty)")
    return n


def choice(name: str, default: str, environ=None) -> str:
    v = value(name, environ)
    if v is None:
        return default
    if v not in CHOICES[name]:
        raise EnvironmentValueError(f"{name} must be one of {', '.join(CHOICES[name])}, got "
                                    f"{v!r} (or leave it empty)")
    return v


def check_all(environ=None) -> None:
    """Every variable of the table, checked (the first bad one raises)."""
    for name in SWITCHES:
        switch(name, environ=environ)
    for name, low in NUMBERS.items():
        number(name, low, environ)
    for name in CHOICES:
        choice(name, CHOICES[name][0], environ)
