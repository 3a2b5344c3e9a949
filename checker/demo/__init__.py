"""The Knight Capital 2012 reconstruction, rebuilt and audited end to end."""
