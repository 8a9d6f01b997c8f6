"""FHIR R4 import of secure-message history: ``Communication`` (messages and their threads) and
``Group`` (care-team pools). The handlers follow ``carethread.core.fhir_import.registry``.

* ``group`` — Group → ``CareTeamPool`` with its members;
* ``communication`` — parsing one Communication into a record;
* ``plan`` — cross-record checks: who the sender and recipients are, which thread each message
  joins, which organisation holds a new thread;
* ``write`` — bulk writes of threads, messages, recipients, attachments and inbox rows.

Attachments are checked with the live upload's rules (``carethread.messaging.attachments``).
"""
