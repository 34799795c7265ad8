//! OCI distribution client (being written).
