"""The local emulator suite: supervisors of the emulators (:mod:`~ticketflow.dev.emulators`)
and of the other processes (:mod:`~ticketflow.dev.processes`), the database part
(:mod:`~ticketflow.dev.database`), and the one stack builder that ``ticketflow dev``,
the tests and the benchmarks use (:mod:`~ticketflow.dev.stack`);
:mod:`~ticketflow.dev.web_schema` exports the JSON Schema of the web page's documents."""
