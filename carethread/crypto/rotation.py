"""Key rotation: a new current DEK, every stored value re-encrypted under it, old DEKs retired.

Runs while the service runs. Each batch is its own short transaction and swaps a value only if
it still holds the envelope that was read (``actions.reencrypt_batch``). Passes over all
registered fields and stores (``registry.stores()``: allauth's MFA secrets too) repeat until one
finds nothing left to re-encrypt; the DEKs that pass saw no value under are retired. Retired
keys stay in the database and still decrypt, so a value written by a process that had not yet
noticed the new key stays readable (and moves on the next run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from carethread.crypto import actions, keyring, registry
from carethread.crypto.models import DataKey
from carethread.keyfile import KeyFile, load_key_file
from carethread.progress import NoProgress, Progress


@dataclass
class RotationReport:
    new_key_id: str = ""
    rewrapped: int = 0
    fields: int = 0
    passes: int = 0
    values: int = 0  # encrypted values found by the last pass
    reencrypted: int = 0
    conflicts: int = 0
    failures: int = 0
    retired: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


def check_key_file(key_file: KeyFile) -> None:
    """Unwrap every DEK once: a wrong or changed key file fails here, before anything changes."""
    for row in DataKey.objects.all():
        keyring.unwrap(key_file, row.kek_id, row.key_id, bytes(row.wrapped_key))


def rotate(
    *,
    batch_size: int = 500,
    new_kek: bool = False,
    progress: Progress | None = None,
    max_passes: int = 5,
) -> RotationReport:
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    progress = progress or NoProgress()
    key_file = load_key_file()
    keyring.clear_cache()
    check_key_file(key_file)
    report = RotationReport()
    if new_kek:
        report.rewrapped = actions.rewrap_data_keys(key_file)
    new = actions.start_rotation(key_file)
    report.new_key_id = new.key_id
    key = keyring.data_key(new.key_id)
    assert key is not None
    entries = registry.stores()
    report.fields = len(entries)
    for number in range(1, max_passes + 1):
        report.passes = number
        in_use: set[str] = set()
        moved = report.failures = report.values = 0
        total = sum(entry.count() for entry in entries)
        advance = progress.task(
            "re-encrypting" if number == 1 else f"checking (pass {number})", total
        )
        for entry in entries:
            after = None
            while True:
                batch = entry.reencrypt_batch(
                    after_pk=after, batch_size=batch_size, key_id=new.key_id, key=key
                )
                if not batch.scanned:
                    break
                after = batch.last_pk
                in_use |= batch.key_ids
                moved += batch.reencrypted + batch.conflicts
                report.values += batch.scanned
                report.reencrypted += batch.reencrypted
                report.conflicts += batch.conflicts
                report.failures += batch.failures  # what is still failing after the last pass
                advance(batch.scanned)
        if not moved:
            report.retired = actions.retire_unused(in_use | {new.key_id})
            break
    return report
