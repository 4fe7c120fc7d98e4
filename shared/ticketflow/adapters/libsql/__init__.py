"""libSQL adapters: the run store, the document store and task queue of the embedded
default, the repository index, and the operating metrics, all on one
:class:`~ticketflow.adapters.libsql.database.Database` (a file, or a libSQL server)."""
