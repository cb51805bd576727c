"""A fleet in one invocation: targets listed or selected by tags, planned, written under a rate
control by a thread pool (imported only here), and reported within the size rule."""
