"""Sessions: what the runs of one run folder did to each spine (light, depolarization) against budgets."""
