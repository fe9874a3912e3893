"""relbot's benchmark: synthetic repositories (``generate``) and the runner (``run``)."""
