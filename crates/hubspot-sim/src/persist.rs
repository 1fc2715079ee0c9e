//! The optional state file: contacts, properties and the next id as JSON.
//!
//! Saved once, on graceful shutdown, not after every write: the simulator is
//! a test double, and a demo that survives a restart is all this is for.
//! The file is written to a temporary sibling and renamed, so a crash while
//! saving leaves the previous state intact rather than half a JSON document.

use crate::store::Snapshot;
use anyhow::Context;
use std::path::Path;

/// Reads the state file; `Ok(None)` when it does not exist yet.
pub fn load(path: &Path) -> anyhow::Result<Option<Snapshot>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading state file {}", path.display())),
    };
    let snapshot = serde_json::from_str(&text)
        .with_context(|| format!("parsing state file {}", path.display()))?;
    Ok(Some(snapshot))
}

pub fn save(path: &Path, snapshot: &Snapshot) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(snapshot).context("serialising state")?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, json).with_context(|| format!("writing {}", Path::new(&tmp).display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("replacing state file {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn missing_file_is_no_state_and_round_trip_works() {
        let dir = std::env::temp_dir().join(format!("hubspot-sim-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert!(load(&path).unwrap().is_none());
        save(&path, &Store::default().snapshot()).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.next_id, 1);
        assert!(back.properties.iter().any(|p| p.name == "lifecyclestage"));
        std::fs::write(&path, "{not json").unwrap();
        assert!(load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
