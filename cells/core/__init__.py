"""The pure core: config models and stack files, fleet rules, regions and zones, naming, network
layout, sharding, waves, errors. Imports no cloud SDK."""
