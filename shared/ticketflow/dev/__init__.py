"""The local emulator suite: process supervisors for the emulators
(:mod:`~ticketflow.dev.emulators`) and the stack ``ticketflow dev`` runs
(:mod:`~ticketflow.dev.stack`); :mod:`~ticketflow.dev.web_schema` exports the JSON
Schema of the web page's documents."""
