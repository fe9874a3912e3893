"""relbot: the release bot of the Yaook projects."""
