"""Evidence collection: files on disk, the git repository, and the bundle of both."""
