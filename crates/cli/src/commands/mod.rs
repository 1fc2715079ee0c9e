//! One module per subcommand, plus what they share.

pub mod dlq;
pub mod logging;
pub mod publish;
pub mod reader;
pub mod replay;
pub mod sink;
