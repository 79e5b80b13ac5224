//! Sarap ingest.
