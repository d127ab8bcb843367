"""Device and household simulators of a whole community, with faults, scenarios and a publisher."""
