"""Errors that the command line turns into one line on stderr and an exit code."""

from __future__ import annotations


class ArchbenchError(Exception):
    """A problem the user can fix; its message says what is wrong and how to fix it."""

    exit_code = 1


class UsageError(ArchbenchError):
    """An invalid name or value on the command line or in a call: exit code 2."""

    exit_code = 2


class DataError(ArchbenchError):
    """Data that is missing, unreachable or fails its checksum."""


class StoreError(ArchbenchError):
    """A results store that cannot be used as it is (not SQLite, damaged, read-only): exit 2."""

    exit_code = 2
