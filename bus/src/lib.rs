//! Sarap bus.
