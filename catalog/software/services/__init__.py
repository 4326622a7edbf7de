"""Software catalog operations: entities, discovery, docs and scorecards (by topic, one module
each); the template registry's operations are `catalog.services`."""
