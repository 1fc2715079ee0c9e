//! One module per subcommand, plus what they share.

pub mod logging;
pub mod publish;
pub mod reader;
pub mod replay;
