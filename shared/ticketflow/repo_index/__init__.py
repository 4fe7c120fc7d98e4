"""Reading a repository: walking a work tree (:mod:`~ticketflow.repo_index.walker`) and
extracting symbols, routes and settings from files (:mod:`~ticketflow.repo_index.extract`).
Pure code analysis; the index store is :mod:`ticketflow.adapters.libsql.repo_index`."""
