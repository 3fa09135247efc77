//! `plugctl plan`: what a run would do, without doing it.
