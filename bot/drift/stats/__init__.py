"""The drift statistics: pure functions of arrays, run on a `Compute` their caller owns."""
