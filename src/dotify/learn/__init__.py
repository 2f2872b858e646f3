"""Learning: the ratings value, DataWindow, splits and SplitSpec, evaluation, training,
tuning and compare."""
