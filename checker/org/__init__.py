"""The organisation: many systems (a repository and its evidence each) judged for one month and
attested together. ``model`` reads org.yaml, ``judge`` judges one system with the one-repository
pipeline, ``fanout`` spreads the systems over a Dask cluster, ``federated`` takes the systems'
own signed audits instead, and ``attestation`` signs and reads the organisation's statement."""
