//! Forgejo / Gitea Actions client (being written).
