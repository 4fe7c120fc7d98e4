"""The Cloud Functions front door: HTTP and CloudEvent handlers
(:mod:`~ticketflow.cloud.handlers`) and Firestore event decoding
(:mod:`~ticketflow.cloud.events`). ``functions/main.py`` only forwards to them."""
