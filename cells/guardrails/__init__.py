"""Checks on a plan before anything is built: the policy pack (residency and security), the
providers' documented rules, and the independent scanners."""
