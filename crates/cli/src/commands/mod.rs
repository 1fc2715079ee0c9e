//! One module per subcommand, plus what they share.

pub mod check;
pub mod dlq;
pub mod logging;
pub mod offsets;
pub mod publish;
pub mod reader;
pub mod replay;
pub mod run;
pub mod sink;
pub mod snapshot;
pub mod status;
