//! Connection settings of a MySQL target sink.

use serde::{Deserialize, Serialize};

/// `[sinks.<name>.target]`: where the target tables live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MySqlTargetConfig {
    /// MySQL URL of the target server, e.g. `mysql://cdc:${CRM_PASSWORD}@db:3306/crm`.
    pub url: String,
    /// Table holding the consumed offsets (`db.table`), created when missing.
    /// Written in the same transaction as the data: this is what makes the
    /// MySQL sink exactly-once.
    #[serde(default = "default_checkpoint_table")]
    pub checkpoint_table: String,
    /// Most rows per INSERT statement.
    #[serde(default = "default_max_rows")]
    pub max_rows_per_statement: usize,
}

fn default_checkpoint_table() -> String {
    "cdc_sink_offsets".into()
}
fn default_max_rows() -> usize {
    500
}
