"""Facts for the policies: evidence and git history turned into one typed input document.

Python establishes every fact (identities, integer timestamps, resolved commits, the commits
each deployment shipped, who reviewed each commit, which observations fall in which window);
Rego only decides. ``document`` declares the input document; ``collect`` builds it from the
parts ``revisions``, ``review``, ``fleet`` and ``deadcode`` return; ``coverage`` says what the
judged records hold of each kind of evidence.
"""
