"""What accounts tells the apps above it, sent inside the transaction of the change."""

from __future__ import annotations

from django.dispatch import Signal

#: A login was just linked to a patient, as the patient or as one of their representatives.
#: Sent with ``user``, ``patient`` and ``side`` ("patient" or "representative"); messaging adds
#: the login's inbox rows for the patient's existing threads (``messaging.receivers``).
login_linked = Signal()
