"""Checks that a running stack works: readiness waiting, smoke checks, load runs."""
