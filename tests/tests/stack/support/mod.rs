//! What the stack suites share: the stack scripts/test brought up and its workspaces ([`stack`]), the
//! emulator ([`emulator`]), the probe worker ([`probe`]), workspace B played once for every test on it
//! ([`workspace_b`]) and its REST API as the app calls it ([`api`]), the notices users get ([`notices`]),
//! photos as the app uploads them ([`photos`]), the ops CLI ([`ops`]). Suites use these; they never use each
//! other.

pub(crate) mod api;
pub(crate) mod emulator;
pub(crate) mod notices;
pub(crate) mod ops;
pub(crate) mod photos;
pub(crate) mod probe;
pub(crate) mod stack;
pub(crate) mod workspace_b;
