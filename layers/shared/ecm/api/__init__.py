"""The HTTP side shared by every API function: the Powertools resolver with its error
mapping (``resolver``) and users, tokens and the authorizer (``auth``)."""
