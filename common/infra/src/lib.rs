//! EcoBid's adapters: what the domain needs from the outside world (configuration now; AWS adapters and the
//! worker runtime as the backbone lands).

pub mod config;
