"""The offline plan: the real program run under Pulumi's mock engine, its views, its diagram, and
the committed URNs of stateful resources."""
