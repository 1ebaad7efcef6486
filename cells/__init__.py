"""MyARK cells: the pure core (config, regions, sharding, plans) behind the Pulumi program."""
