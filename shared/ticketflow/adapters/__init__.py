"""Adapters: one production and one local implementation per port.

``libsql/`` (runs, documents, queue, repository index, metrics), ``firestore``
(documents), ``cloud_tasks`` (queue), ``claude`` and ``offline`` (language model),
``clock``, and ``memory`` (in-memory fakes for unit tests). Every adapter of a port
passes the same contract suite in ``tests/contract``.
"""
