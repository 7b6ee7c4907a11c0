"""The reliability suite: a day of faults, chaos, no hammering, bad input, security."""
