"""The rules: the policy files loaded for a run, the catalog their METADATA annotations make,
its text, JSON and Markdown forms, and the runner of the policies' own tests."""
