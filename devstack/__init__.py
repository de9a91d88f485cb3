"""The local stack ("embedded default"): moto server with the template's resources, the real
state machine run by moto's interpreter, and the real handlers invoked in-process."""
