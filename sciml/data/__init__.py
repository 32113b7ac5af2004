"""Operator-learning data: random input functions, problem families and HDF5 data sets."""
